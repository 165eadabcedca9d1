/**
 * The buildTypes we know, each with a strict schema of its external parameters
 * (v1 `externalParameters`, v0.2 `invocation.parameters`, v0.1 `recipe.arguments`).
 * Strict on purpose: SLSA v1 §externalParameters says a verifier SHOULD reject
 * parameters it does not recognise, since they may change what was built.
 */
import { z } from 'zod';

export const BUILD_TYPES = {
  ghaGenericV1: 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
  ghaGoV1: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
  ghaContainerV1: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
  ghaDelegatorV0: 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
  containerBasedV01: 'https://slsa.dev/container-based-build/v0.1?draft',
  actionsWorkflowV1: 'https://actions.github.io/buildtypes/workflow/v1',
  slsaGithubActionsWorkflowV1: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
  npmCliGhaV2: 'https://github.com/npm/cli/gha/v2',
  gcbYamlV01: 'https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1',
  gcbStepsV01: 'https://cloudbuild.googleapis.com/CloudBuildSteps@v0.1',
} as const;

/** BYOB: the delegator signs, the trusted reusable workflow (TRW) is the builder.id. */
export const DELEGATOR_BUILD_TYPES: readonly string[] = [BUILD_TYPES.ghaDelegatorV0];

const Inputs = z.record(z.string(), z.unknown());

// slsa-github-generator v0.2 generic/go/container: workflow_dispatch inputs only.
const GhaGeneratorParameters = z.strictObject({ event_inputs: Inputs.optional() });

// slsa-github-generator BYOB (internal/builders/generic + delegator docs): inputs and vars.
const DelegatorParameters = z.strictObject({ inputs: Inputs, vars: Inputs.optional() });

// https://github.com/slsa-framework/github-actions-buildtypes/tree/main/workflow/v1
const GithubWorkflowParameters = z.strictObject({
  workflow: z.strictObject({ ref: z.string(), repository: z.string(), path: z.string() }),
  inputs: Inputs.optional(),
  vars: Inputs.optional(),
});

// https://slsa.dev/container-based-build/v0.1?draft
const ContainerBasedParameters = z.strictObject({
  source: z.looseObject({ uri: z.string(), digest: z.record(z.string(), z.string()) }),
  builderImage: z.looseObject({ uri: z.string(), digest: z.record(z.string(), z.string()) }),
  configPath: z.string(),
  buildConfig: z.record(z.string(), z.unknown()),
});

// npm CLI v0.2 provenance records no parameters (npm/cli lib/utils/provenance.js).
const NpmCliParameters = z.strictObject({});

// Cloud Build records the Build resource (cloudbuild v1 `Build`); its top-level
// fields are pinned, their contents are Google's.
const GcbBuildParameters = z.strictObject({
  '@type': z.literal('type.googleapis.com/google.devtools.cloudbuild.v1.Build'),
  id: z.string().optional(),
  name: z.string().optional(),
  projectId: z.string().optional(),
  buildTriggerId: z.string().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  source: z.record(z.string(), z.unknown()).optional(),
  sourceProvenance: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(z.record(z.string(), z.unknown())).optional(),
  substitutions: z.record(z.string(), z.string()).optional(),
  images: z.array(z.string()).optional(),
  artifacts: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  timeout: z.string().optional(),
  queueTtl: z.string().optional(),
  logsBucket: z.string().optional(),
  serviceAccount: z.string().optional(),
  availableSecrets: z.record(z.string(), z.unknown()).optional(),
});

/** Strict external-parameter schema per known buildType. */
export const EXTERNAL_PARAMETER_SCHEMAS: Record<string, z.ZodType> = {
  [BUILD_TYPES.ghaGenericV1]: GhaGeneratorParameters,
  [BUILD_TYPES.ghaGoV1]: GhaGeneratorParameters,
  [BUILD_TYPES.ghaContainerV1]: GhaGeneratorParameters,
  [BUILD_TYPES.ghaDelegatorV0]: DelegatorParameters,
  [BUILD_TYPES.containerBasedV01]: ContainerBasedParameters,
  [BUILD_TYPES.actionsWorkflowV1]: GithubWorkflowParameters,
  [BUILD_TYPES.slsaGithubActionsWorkflowV1]: GithubWorkflowParameters,
  [BUILD_TYPES.npmCliGhaV2]: NpmCliParameters,
  [BUILD_TYPES.gcbYamlV01]: GcbBuildParameters,
  [BUILD_TYPES.gcbStepsV01]: GcbBuildParameters,
};

/** True for a buildType whose external parameters we have a strict schema for. */
export function isKnownBuildType(buildType: string): boolean {
  return Object.hasOwn(EXTERNAL_PARAMETER_SCHEMAS, buildType);
}

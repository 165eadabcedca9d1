/**
 * The buildTypes we know, each with a strict schema of its external parameters
 * (v1 `externalParameters`, v0.2 `invocation.parameters`, v0.1 `recipe.arguments`).
 * Strict on purpose: SLSA v1 §externalParameters says a verifier SHOULD reject
 * parameters it does not recognise, since they may change what was built.
 */
import type { z } from 'zod';
import { CLOUD_BUILD_BUILD_TYPES, GcbBuildParameters } from './cloud-build-v0.1.ts';
import { CONTAINER_BASED_V0_1, ContainerBasedParameters } from './container-based-v0.1.ts';
import {
  GITHUB_ACTIONS_WORKFLOW_BUILD_TYPES,
  GithubWorkflowParameters,
} from './github-actions-workflow-v1.ts';
import { NPM_CLI_GHA_V2, NpmCliParameters } from './npm-cli-gha-v2.ts';
import {
  DelegatorParameters,
  GhaGeneratorParameters,
  SLSA_GITHUB_GENERATOR_BUILD_TYPES,
} from './slsa-github-generator.ts';

/** Strict external-parameter schema per known buildType. */
export const EXTERNAL_PARAMETER_SCHEMAS: Record<string, z.ZodType> = {
  [SLSA_GITHUB_GENERATOR_BUILD_TYPES.ghaGenericV1]: GhaGeneratorParameters,
  [SLSA_GITHUB_GENERATOR_BUILD_TYPES.ghaGoV1]: GhaGeneratorParameters,
  [SLSA_GITHUB_GENERATOR_BUILD_TYPES.ghaContainerV1]: GhaGeneratorParameters,
  [SLSA_GITHUB_GENERATOR_BUILD_TYPES.ghaDelegatorV0]: DelegatorParameters,
  [CONTAINER_BASED_V0_1]: ContainerBasedParameters,
  [GITHUB_ACTIONS_WORKFLOW_BUILD_TYPES.actionsWorkflowV1]: GithubWorkflowParameters,
  [GITHUB_ACTIONS_WORKFLOW_BUILD_TYPES.slsaGithubActionsWorkflowV1]: GithubWorkflowParameters,
  [NPM_CLI_GHA_V2]: NpmCliParameters,
  [CLOUD_BUILD_BUILD_TYPES.gcbYamlV01]: GcbBuildParameters,
  [CLOUD_BUILD_BUILD_TYPES.gcbStepsV01]: GcbBuildParameters,
};

/** True for a buildType whose external parameters we have a strict schema for. */
export function isKnownBuildType(buildType: string): boolean {
  return Object.hasOwn(EXTERNAL_PARAMETER_SCHEMAS, buildType);
}

/** SLSA provenance v1 → the model (slsa-verifier slsaprovenance/v1.0), per buildType. */
import { SLSA_PROVENANCE_V1, type SlsaProvenanceV1 } from '../../formats/slsa/provenance-v1.ts';
import { containerBasedFacts, CONTAINER_BASED_V0_1 } from '../build-types/container-based-v0.1.ts';
import {
  GITHUB_ACTIONS_WORKFLOW_BUILD_TYPES,
  githubWorkflowFacts,
} from '../build-types/github-actions-workflow-v1.ts';
import { npmCliBuilderId } from '../build-types/npm-cli-gha-v2.ts';
import { generatorFacts } from '../build-types/slsa-github-generator.ts';
import type { BuildTypeFacts } from '../build-types/trigger.ts';
import {
  asRecord,
  builderOf,
  commitOf,
  dependenciesOf,
  gitUri,
  setGithubContext,
  withSource,
} from '../predicate-fields.ts';
import type { ProvenanceDraft, ProvenanceFinding } from '../provenance.ts';

const WORKFLOW_BUILD_TYPES: readonly string[] = Object.values(GITHUB_ACTIONS_WORKFLOW_BUILD_TYPES);

function buildTypeFacts(p: SlsaProvenanceV1, origin: string, findings: ProvenanceFinding[]): BuildTypeFacts {
  const def = p.buildDefinition;
  const internal = def.internalParameters ?? {};
  if (WORKFLOW_BUILD_TYPES.includes(def.buildType))
    return githubWorkflowFacts(def.externalParameters, internal);
  if (def.buildType === CONTAINER_BASED_V0_1)
    return containerBasedFacts(def.externalParameters, origin, findings);
  // BYOB delegator and other slsa-github-generator v1 builders record the GitHub context.
  return generatorFacts(internal);
}

export function fromSlsaV1(
  p: SlsaProvenanceV1,
  origin: string,
  findings: ProvenanceFinding[],
): ProvenanceDraft {
  const def = p.buildDefinition;
  const buildType = def.buildType;
  const rawId = p.runDetails.builder.id;
  const draft: ProvenanceDraft = {
    predicateType: SLSA_PROVENANCE_V1,
    builder: builderOf(
      npmCliBuilderId(buildType, rawId),
      rawId,
      'predicate.runDetails.builder.id',
      origin,
      findings,
    ),
    buildType,
    externalParameters: def.externalParameters,
    resolvedDependencies: dependenciesOf(def.resolvedDependencies ?? []),
  };
  if (p.runDetails.metadata?.finishedOn !== undefined)
    draft.buildFinishedOn = p.runDetails.metadata.finishedOn;
  const facts = buildTypeFacts(p, origin, findings);
  if (facts.entryPoint !== undefined) draft.entryPoint = facts.entryPoint;
  const inputs = asRecord(def.externalParameters.inputs);
  if (inputs !== undefined) draft.workflowInputs = inputs;
  setGithubContext(draft, facts.github);

  const first = def.resolvedDependencies?.[0];
  const source =
    first?.uri !== undefined && first.uri.startsWith('git+')
      ? gitUri(first.uri, 'predicate.buildDefinition.resolvedDependencies[0].uri', origin, findings)
      : undefined;
  return withSource(
    draft,
    source,
    source ? commitOf(first?.digest) : undefined,
    facts.trigger,
    facts.triggerPath,
    origin,
    findings,
  );
}

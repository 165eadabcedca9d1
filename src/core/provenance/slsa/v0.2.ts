/** SLSA provenance v0.2 → the model (slsa-verifier slsaprovenance/v0.2). */
import { SLSA_PROVENANCE_V0_2, type SlsaProvenanceV02 } from '../../formats/slsa/provenance-v0.2.ts';
import { githubContext } from '../build-types/github-context.ts';
import { npmCliBuilderId } from '../build-types/npm-cli-gha-v2.ts';
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

export function fromSlsaV02(
  p: SlsaProvenanceV02,
  origin: string,
  findings: ProvenanceFinding[],
): ProvenanceDraft {
  const buildType = p.buildType;
  const params = asRecord(p.invocation?.parameters) ?? {};
  const draft: ProvenanceDraft = {
    predicateType: SLSA_PROVENANCE_V0_2,
    builder: builderOf(
      npmCliBuilderId(buildType, p.builder.id),
      p.builder.id,
      'predicate.builder.id',
      origin,
      findings,
    ),
    buildType,
    externalParameters: params,
    resolvedDependencies: dependenciesOf(p.materials ?? []),
  };
  if (p.metadata?.buildFinishedOn !== undefined) draft.buildFinishedOn = p.metadata.buildFinishedOn;
  const entryPoint = p.invocation?.configSource?.entryPoint;
  if (entryPoint !== undefined) draft.entryPoint = entryPoint;
  const inputs = asRecord(params.event_inputs) ?? asRecord(params.inputs);
  if (inputs !== undefined) draft.workflowInputs = inputs;
  setGithubContext(draft, githubContext(asRecord(p.invocation?.environment)));

  const triggerPath = 'predicate.invocation.configSource.uri';
  const trigger = gitUri(p.invocation?.configSource?.uri, triggerPath, origin, findings);
  const first = p.materials?.[0];
  const source = gitUri(first?.uri, 'predicate.materials[0].uri', origin, findings);
  return withSource(draft, source, commitOf(first?.digest), trigger, triggerPath, origin, findings);
}

/** SLSA provenance v0.1 → the model, as Google Cloud Build writes it (slsa-verifier gcb/provenance.go). */
import { GateError } from '../../errors.ts';
import { SLSA_PROVENANCE_V0_1, type SlsaProvenanceV01 } from '../../formats/slsa/provenance-v0.1.ts';
import { cloudBuildRef } from '../build-types/cloud-build-v0.1.ts';
import { gitUriFromHttps } from '../git-uri.ts';
import { asRecord, builderOf, commitOf, dependenciesOf, gitUri, withSource } from '../predicate-fields.ts';
import type { ProvenanceDraft, ProvenanceFinding } from '../provenance.ts';

export function fromSlsaV01(
  p: SlsaProvenanceV01,
  origin: string,
  findings: ProvenanceFinding[],
): ProvenanceDraft {
  if (p.recipe === undefined) {
    throw new GateError('INPUT_INVALID', `${origin}: predicate.recipe is required to know the buildType`, {
      detail: { path: 'predicate.recipe' },
    });
  }
  const buildType = p.recipe.type;
  const args = asRecord(p.recipe.arguments) ?? {};
  const draft: ProvenanceDraft = {
    predicateType: SLSA_PROVENANCE_V0_1,
    builder: builderOf(p.builder.id, p.builder.id, 'predicate.builder.id', origin, findings),
    buildType,
    externalParameters: args,
    resolvedDependencies: dependenciesOf(p.materials ?? []),
  };
  if (p.metadata?.buildFinishedOn !== undefined) draft.buildFinishedOn = p.metadata.buildFinishedOn;
  if (p.recipe.entryPoint !== undefined) draft.entryPoint = p.recipe.entryPoint;
  const first = p.materials?.[0];
  // Cloud Build writes its source material as `https://github.com/o/r` as well as `git+https://…`;
  // the provenance is signed by Cloud Build itself, so this is its convention, not a trick.
  const materialUri = first?.uri?.startsWith('https://') ? gitUriFromHttps(first.uri) : first?.uri;
  const source = gitUri(materialUri, 'predicate.materials[0].uri', origin, findings);
  if (source === undefined) return draft;
  const ref = source.ref ?? cloudBuildRef(args);
  return withSource(
    draft,
    { uri: source.uri, ref },
    commitOf(first?.digest),
    undefined,
    '',
    origin,
    findings,
  );
}

/**
 * Check `subject`: the artifact is a subject of the provenance used. The signature layer
 * binds it already; policy checks again for the one provenance it decides on (docs/checklist.md#row-16).
 */
import type { ArtifactRef, CheckResult, EvaluatedAttestation } from '../../model.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import { fail, pass } from '../check-result.ts';

/** The subject check for one provenance. */
export function checkSubject(
  artifact: ArtifactRef,
  att: EvaluatedAttestation,
  provenance: Provenance,
): CheckResult {
  const { sha256, sha512 } = artifact.digests;
  const hit = provenance.subjects.find(
    (s) =>
      s.digest.sha256?.toLowerCase() === sha256 ||
      (sha512 !== undefined && s.digest.sha512?.toLowerCase() === sha512),
  );
  if (hit === undefined)
    return fail(
      'subject',
      'SUBJECT_MISMATCH',
      `${att.origin}: artifact sha256:${sha256} is not a subject of the provenance`,
      [att.digest],
    );
  return pass('subject', `artifact is subject ${JSON.stringify(hit.name ?? '')}`, [att.digest]);
}

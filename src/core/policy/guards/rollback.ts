/**
 * Check `rollback` (docs/checklist.md#row-21 and docs/checklist.md#row-22): an old, valid provenance must not be replayed
 * onto `latest` or a newer tag. The caller keeps a monotonic record per `repo:tag` of what
 * was last published there and hands it in; this check is pure.
 */
import { z } from 'zod';
import type { ArtifactRef, CheckResult } from '../../model.ts';
import { tagOf } from '../../provenance/git-uri.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import { fail, pass } from '../check-result.ts';

/** What was last published at one `repo:tag`. */
export const PublishedRecordSchema = z.strictObject({
  target: z.string(),
  artifactDigest: z.string(),
  /** Source tag the published artifact was built from (`v1.2.3`), when it was a version tag. */
  version: z.string().optional(),
  /** When it was built or signed (ISO-8601): provenance build time, else the transparency log time. */
  builtAt: z.string().optional(),
  attestationDigest: z.string().optional(),
});
export type PublishedRecord = z.infer<typeof PublishedRecordSchema>;

export interface RollbackInput {
  /** `registry/repo:tag` (or `name:tag`) being published to. */
  target: string;
  artifact: ArtifactRef;
  provenance?: Provenance;
  /** Signing time from the transparency log (ISO-8601), used when the provenance has no build time. */
  signedAt?: string;
  last?: PublishedRecord;
}

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Compare two semver strings (`v` optional); undefined when either is not semver. */
export function compareSemver(a: string, b: string): number | undefined {
  const x = SEMVER.exec(a);
  const y = SEMVER.exec(b);
  if (x === null || y === null) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return Math.sign(d);
  }
  // semver §11: a pre-release sorts before its release.
  if (x[4] === y[4]) return 0;
  if (x[4] === undefined) return 1;
  if (y[4] === undefined) return -1;
  return x[4] < y[4] ? -1 : 1;
}

/** The tag of `repo:tag` (after the last `:` that follows the last `/`). */
export function targetTag(target: string): string | undefined {
  const colon = target.lastIndexOf(':');
  return colon > target.lastIndexOf('/') ? target.slice(colon + 1) : undefined;
}

/** The rollback check. */
export function checkRollback(input: RollbackInput): CheckResult {
  const digest = `sha256:${input.artifact.digests.sha256}`;
  const evidence =
    input.last?.attestationDigest === undefined ? [digest] : [digest, input.last.attestationDigest];
  const tag = targetTag(input.target);
  const sourceTag = tagOf(input.provenance?.source?.ref);
  // Row 21: a version tag is published only from provenance built at that same tag.
  if (tag !== undefined && SEMVER.test(tag) && input.provenance !== undefined) {
    if (sourceTag === undefined || (sourceTag !== tag && sourceTag !== `v${tag}` && `v${sourceTag}` !== tag))
      return fail(
        'rollback',
        'REF_MISMATCH',
        `${input.target}: provenance was built from ${JSON.stringify(input.provenance.source?.ref)}, not tag ${tag}`,
        evidence,
      );
  }
  const last = input.last;
  if (last === undefined) return pass('rollback', `${input.target}: first publish`, evidence);
  if (last.artifactDigest === digest)
    return pass('rollback', `${input.target}: same artifact as last published`, evidence);
  const version = sourceTag !== undefined && SEMVER.test(sourceTag) ? sourceTag : undefined;
  if (version !== undefined && last.version !== undefined) {
    const order = compareSemver(version, last.version);
    if (order !== undefined && order <= 0)
      return fail(
        'rollback',
        'ROLLBACK',
        `${input.target}: ${version} is not newer than the published ${last.version}`,
        evidence,
      );
    if (order !== undefined)
      return pass('rollback', `${input.target}: ${version} is newer than ${last.version}`, evidence);
  }
  const builtAt = input.provenance?.buildFinishedOn ?? input.signedAt;
  if (builtAt !== undefined && last.builtAt !== undefined) {
    const a = Date.parse(builtAt);
    const b = Date.parse(last.builtAt);
    if (Number.isFinite(a) && Number.isFinite(b)) {
      if (a <= b)
        return fail(
          'rollback',
          'ROLLBACK',
          `${input.target}: built ${builtAt}, not after the published build of ${last.builtAt}`,
          evidence,
        );
      return pass('rollback', `${input.target}: built ${builtAt}, after ${last.builtAt}`, evidence);
    }
  }
  // Fail closed: without a version or a time we cannot show the candidate is newer.
  return fail(
    'rollback',
    'ROLLBACK',
    `${input.target}: cannot show the candidate is newer than the published ${last.artifactDigest}`,
    evidence,
  );
}

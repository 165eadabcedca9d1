/**
 * Check `rollback` (docs/checklist.md#row-21 and docs/checklist.md#row-22): an old, valid provenance must not be replayed
 * onto `latest` or a newer tag. The caller keeps a monotonic record per `repo:tag` of what
 * was last published there and hands it in; this check is pure.
 */
import * as z from 'zod';
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

/** A version-shaped tag: which tags must come from their own source tag (docs/checklist.md#row-21). */
const SEMVER = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * SemVer 2.0.0 §2 and §9–10: numeric identifiers without leading zeros, pre-release identifiers
 * non-empty, build metadata after `+`. Only versions of this grammar are ordered; anything else
 * falls back to build times (or fails closed) in the rollback check. Leading zeros of pre-release
 * identifiers are refused in code, not in the pattern, to keep the pattern linear on long input.
 */
const SEMVER_2 =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Major, minor, patch and pre-release of a SemVer 2.0.0 version; undefined for anything else. */
function parseSemver(version: string): { core: string[]; preRelease?: string[] } | undefined {
  const m = SEMVER_2.exec(version);
  if (m === null) return undefined;
  const core = [m[1], m[2], m[3]] as string[];
  if (m[4] === undefined) return { core };
  const preRelease = m[4].split('.');
  return preRelease.some((id) => /^0\d+$/.test(id)) ? undefined : { core, preRelease };
}

/** Order of two digit strings without leading zeros, by value at any length (no float rounding). */
function compareNumeric(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** SemVer 2.0.0 §11.4: precedence of two pre-release identifier lists. */
function comparePreRelease(x: string[], y: string[]): number {
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    const pNumeric = /^\d+$/.test(p);
    const qNumeric = /^\d+$/.test(q);
    let order: number;
    // §11.4.1: numeric identifiers compare numerically.
    if (pNumeric && qNumeric) order = compareNumeric(p, q);
    // §11.4.3: a numeric identifier has lower precedence than an alphanumeric one.
    else if (pNumeric !== qNumeric) order = pNumeric ? -1 : 1;
    // §11.4.2: alphanumeric identifiers compare lexically in ASCII order (the grammar admits
    // only ASCII, where UTF-16 code unit order is ASCII order).
    else order = p === q ? 0 : p < q ? -1 : 1;
    if (order !== 0) return order;
  }
  // §11.4.4: a larger set of pre-release fields has higher precedence when all before are equal.
  return Math.sign(x.length - y.length);
}

/**
 * Precedence of two versions by SemVer 2.0.0 §11 (`v` prefix allowed, build metadata ignored):
 * -1, 0 or 1; undefined when either is not a SemVer 2.0.0 version.
 */
export function compareSemver(a: string, b: string): number | undefined {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (x === undefined || y === undefined) return undefined;
  for (let i = 0; i < 3; i++) {
    const order = compareNumeric(x.core[i] as string, y.core[i] as string);
    if (order !== 0) return order;
  }
  // §11.3: a pre-release version has lower precedence than its release.
  if (x.preRelease === undefined || y.preRelease === undefined)
    return x.preRelease === y.preRelease ? 0 : x.preRelease === undefined ? 1 : -1;
  return comparePreRelease(x.preRelease, y.preRelease);
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
  // An npm package's version is its tag: the package guard binds it to the provenance's
  // `pkg:npm/name@version` subject, which is what it was built as (docs/policy.md#npm-packages).
  const sourceTag = input.artifact.npmPackage?.version ?? tagOf(input.provenance?.source?.ref);
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

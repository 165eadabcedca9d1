/**
 * Check `source` (3): repository, branch/tag/versioned-tag with slsa-verifier's semantics,
 * and the minimum Source level from the source evidence handed in. Repositories compare
 * exactly (docs/checklist.md#row-20); refs exactly (row 21). A source the provenance contradicts
 * (trigger vs material, predicate vs certificate, found by normalisation) fails here.
 */
import type { CheckResult, EvaluatedAttestation } from '../../model.ts';
import { branchOf, normaliseExpectedSourceUri, tagOf } from '../../provenance/git-uri.ts';
import type { Provenance, ProvenanceFinding } from '../../provenance/provenance.ts';
import type { LevelEvidence, PolicyRule } from '../policy-rule.ts';
import { fail, pass, skipped } from '../check-result.ts';

/** Whether the provenance source `uri` (`git+https://host/o/r`) is the expected repository. */
export function sourceRepoMatches(expected: string, uri: string): boolean {
  const want = normaliseExpectedSourceUri(expected);
  if (want.endsWith('/*')) {
    const prefix = want.slice(0, -1);
    const rest = uri.slice(prefix.length);
    return uri.startsWith(prefix) && rest !== '' && !rest.includes('/');
  }
  return uri === want;
}

interface Semver {
  major: number;
  minor?: number;
  patch?: number;
  pre?: string;
}

function parseSemver(tag: string, full: boolean): Semver | undefined {
  const m = /^v(\d+)(?:\.(\d+)(?:\.(\d+)(-[0-9A-Za-z.-]+)?)?)?(?:\+[0-9A-Za-z.-]+)?$/.exec(tag);
  if (m === null) return undefined;
  const v: Semver = { major: Number(m[1]) };
  // Go's semver.Canonical reads v14 as v14.0.0 for the provenance side.
  if (m[2] !== undefined || full) v.minor = Number(m[2] ?? 0);
  if (m[3] !== undefined || full) v.patch = Number(m[3] ?? 0);
  if (m[4] !== undefined) v.pre = m[4];
  return v;
}

/** slsa-verifier VerifyVersionedTag: `v1` matches any v1.x.y, `v1.2` any v1.2.y, `v1.2.3` exactly (build metadata ignored). */
export function versionedTagMatches(expected: string, tag: string): boolean {
  const want = parseSemver(expected, false);
  const got = parseSemver(tag, true);
  if (want === undefined || got === undefined) return false;
  if (want.major !== got.major) return false;
  if (want.minor !== undefined && want.minor !== got.minor) return false;
  if (want.patch !== undefined && (want.patch !== got.patch || (want.pre ?? '') !== (got.pre ?? '')))
    return false;
  return true;
}

/** The source check for one provenance. */
export function checkSource(
  rule: PolicyRule,
  att: EvaluatedAttestation,
  provenance: Provenance,
  findings: readonly ProvenanceFinding[],
  levels: LevelEvidence | undefined,
): CheckResult {
  const evidence = [att.digest];
  // A source the predicate contradicts (itself or the certificate) fails whatever the rule expects.
  const forged = findings.find((f) => f.check === 'source');
  if (forged !== undefined) return fail('source', forged.code, forged.message, evidence);
  const want = rule.source;
  if (want === undefined) return skipped('source', 'no source expectation', evidence);
  const src = provenance.source;
  const at = `${att.origin}: source`;
  if (src === undefined)
    return fail('source', 'SOURCE_MISMATCH', `${at}: the provenance names no source repository`, evidence);
  if (want.repos.length > 0 && !want.repos.some((r) => sourceRepoMatches(r, src.uri)))
    return fail(
      'source',
      'SOURCE_MISMATCH',
      `${at} ${JSON.stringify(src.uri)} is not ${want.repos.join(' or ')}`,
      evidence,
    );
  const ref = src.ref;
  // A tag build has no branch: a branch expectation fails closed rather than guessing one.
  if (want.branches !== undefined && !want.branches.includes(branchOf(ref) ?? '\0'))
    return fail(
      'source',
      'REF_MISMATCH',
      `${at} ref ${JSON.stringify(ref)} is not branch ${want.branches.join(' or ')}`,
      evidence,
    );
  if (want.tags !== undefined && !want.tags.includes(tagOf(ref) ?? '\0'))
    return fail(
      'source',
      'REF_MISMATCH',
      `${at} ref ${JSON.stringify(ref)} is not tag ${want.tags.join(' or ')}`,
      evidence,
    );
  if (want.versionedTag !== undefined) {
    const tag = tagOf(ref);
    if (tag === undefined || !versionedTagMatches(want.versionedTag, tag))
      return fail(
        'source',
        'REF_MISMATCH',
        `${at} ref ${JSON.stringify(ref)} is not a tag in the ${want.versionedTag} line`,
        evidence,
      );
  }
  if (want.minLevel === 0)
    return pass('source', `${src.uri}@${ref ?? '?'} (${src.commit ?? 'no commit'})`, evidence);

  // Evidence is about one repository: compared exactly, no owner wildcard.
  const candidates = (levels?.sources ?? []).filter((s) => normaliseExpectedSourceUri(s.repo) === src.uri);
  const matching = candidates.filter(
    (s) => s.commit === src.commit && ref !== undefined && s.refs.includes(ref),
  );
  const best = matching.reduce<(typeof matching)[number] | undefined>(
    (b, s) => (b === undefined || s.level > b.level ? s : b),
    undefined,
  );
  const level = best?.level ?? 0;
  const used = [...evidence, ...(best?.evidence ?? [])];
  if (level < want.minLevel) {
    const why =
      candidates.length === 0
        ? 'no source level evidence for this repository'
        : matching.length === 0
          ? 'no source level evidence for this commit on this ref'
          : `source reaches L${level}`;
    return fail(
      'source',
      'SOURCE_LEVEL_INSUFFICIENT',
      `${at} ${src.uri}@${ref ?? '?'} (${src.commit ?? 'no commit'}): ${why}, the rule needs Source L${want.minLevel}`,
      used,
      level,
    );
  }
  return pass('source', `${src.uri}@${ref} at Source L${level} (${best?.method ?? 'none'})`, used, { level });
}

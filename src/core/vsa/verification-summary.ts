/**
 * Reading a verified VSA v1 (https://slsa.dev/spec/v1.0/verification_summary): its
 * predicate, its level strings and how it compares with what a reader expects. The `vsa`
 * guard (src/core/policy/guards/vsa.ts) judges with these; the attestors parse levels.
 */
import type { ErrorCode } from '../errors.ts';
import { SLSA_VSA_V1, SlsaVsaV1Schema, type SlsaVsaV1 } from '../formats/slsa/vsa-v1.ts';
import { formatIssues } from '../formats/format-issues.ts';
import type { EvaluatedAttestation } from '../model.ts';

const SLSA_LEVEL = /^SLSA_([A-Z]+)_LEVEL_(\d+)$/;

/**
 * `SLSA_<TRACK>_LEVEL_<n>` with n 0–4 (VSA spec §verifiedLevels). Other strings are
 * properties (TAG_HYGIENE, ORG_SOURCE_TESTED): undefined; a `SLSA_*LEVEL*` string
 * that is not of that form is `malformed`.
 */
export function parseSlsaLevel(value: string): { track: string; level: number } | 'malformed' | undefined {
  const m = SLSA_LEVEL.exec(value);
  if (m === null) return value.startsWith('SLSA_') && value.includes('LEVEL') ? 'malformed' : undefined;
  if (m[2]!.length > 1 || Number(m[2]) > 4) return 'malformed';
  return { track: m[1]!, level: Number(m[2]) };
}

/** An expected level is met by the same string, or for `SLSA_<TRACK>_LEVEL_n` by a higher one on that track. */
export function levelMet(expected: string, verified: readonly string[]): boolean {
  if (verified.includes(expected)) return true;
  const want = parseSlsaLevel(expected);
  if (want === undefined || want === 'malformed') return false;
  return verified.some((v) => {
    const got = parseSlsaLevel(v);
    return got !== undefined && got !== 'malformed' && got.track === want.track && got.level >= want.level;
  });
}

/** The VSA predicate of a verified attestation, or why it is not one. */
export function readVsa(
  att: EvaluatedAttestation,
): { vsa: SlsaVsaV1 } | { code: ErrorCode; message: string } {
  if (att.predicateType !== SLSA_VSA_V1 || att.statement === undefined)
    return { code: 'PREDICATE_TYPE', message: `${att.predicateType ?? 'no predicate'} is not a VSA v1` };
  const parsed = SlsaVsaV1Schema.safeParse(att.statement.predicate);
  if (!parsed.success)
    return { code: 'BUNDLE_MALFORMED', message: `VSA predicate: ${formatIssues(parsed.error, 'predicate')}` };
  return { vsa: parsed.data };
}

/** What a reader expects of a VSA; an absent field is not compared. */
export interface VsaExpectation {
  verifierIds?: readonly string[];
  resourceUris?: readonly string[];
  verifiedLevels?: readonly string[];
}

/** Every way the VSA differs from the expectation (verifier, resource, result, levels); empty when it meets it. */
export function vsaMismatches(
  vsa: SlsaVsaV1,
  want: VsaExpectation,
): Array<{ code: ErrorCode; message: string }> {
  const out: Array<{ code: ErrorCode; message: string }> = [];
  const list = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(' or ');
  if (want.verifierIds !== undefined && !want.verifierIds.includes(vsa.verifier.id))
    out.push({
      code: 'VSA_MISMATCH',
      message: `verifier ${JSON.stringify(vsa.verifier.id)} is not ${list(want.verifierIds)}`,
    });
  if (want.resourceUris !== undefined && !want.resourceUris.includes(vsa.resourceUri))
    out.push({
      code: 'VSA_MISMATCH',
      message: `resourceUri ${JSON.stringify(vsa.resourceUri)} is not ${list(want.resourceUris)}`,
    });
  if (vsa.verificationResult !== 'PASSED')
    out.push({
      code: 'VSA_MISMATCH',
      message: `verificationResult is ${JSON.stringify(vsa.verificationResult)}, not PASSED`,
    });
  for (const level of want.verifiedLevels ?? [])
    if (!levelMet(level, vsa.verifiedLevels))
      out.push({
        code: 'VSA_MISMATCH',
        message: `level ${level} not verified (${vsa.verifiedLevels.join(', ')})`,
      });
  return out;
}

/**
 * Check `vsa`: a VSA given as input names the expected verifier and resource, says PASSED,
 * and verified at least the expected levels (slsa-verifier verifiers/internal/vsa).
 */
import type { CheckResult, VerifiedAttestation } from '../../model.ts';
import { statementOf } from '../../verify/statement.ts';
import { SLSA_VSA_V1, SlsaVsaV1Schema } from '../../formats/slsa/vsa-v1.ts';
import type { PolicyRule } from '../policy-rule.ts';
import { fail, pass, skipped } from './check-result.ts';
import { identityMismatches } from './identity.ts';

const SLSA_LEVEL = /^SLSA_([A-Z]+)_LEVEL_([0-4])$/;

/** An expected level is met by the same level, or for `SLSA_<TRACK>_LEVEL_n` by a higher one on that track. */
export function levelMet(expected: string, verified: readonly string[]): boolean {
  if (verified.includes(expected)) return true;
  const want = SLSA_LEVEL.exec(expected);
  if (want === null) return false;
  return verified.some((v) => {
    const got = SLSA_LEVEL.exec(v);
    return got !== null && got[1] === want[1] && Number(got[2]) >= Number(want[2]);
  });
}

/** The VSA check over the attestations. */
export function checkVsa(rule: PolicyRule, attestations: VerifiedAttestation[]): CheckResult {
  const want = rule.vsa;
  if (want === undefined) return skipped('vsa', 'no VSA expectation');
  const vsas = attestations.filter((a) => a.predicateType === SLSA_VSA_V1);
  if (vsas.length === 0) return fail('vsa', 'VSA_MISMATCH', 'no SLSA VSA v1 among the attestations', []);
  // The VSA's facts count only from a signer the rule accepts for VSAs: never one VSA's
  // signer with another's content (CHECKLIST row 18).
  const signers = want.identities ?? (rule.requireProvenance ? [] : rule.identities);
  const problems: string[] = [];
  for (const att of vsas) {
    if (signers.length > 0 && !signers.some((id) => identityMismatches(id, att.signer).length === 0)) {
      problems.push(`${att.origin}: not signed by an identity this rule accepts for VSAs`);
      continue;
    }
    let predicate;
    try {
      const parsed = SlsaVsaV1Schema.safeParse(statementOf(att).predicate);
      if (!parsed.success) throw new Error('predicate is not a SLSA VSA v1');
      predicate = parsed.data;
    } catch (err) {
      problems.push(`${att.origin}: ${(err as Error).message}`);
      continue;
    }
    const why: string[] = [];
    if (want.verifierId !== undefined && predicate.verifier.id !== want.verifierId)
      why.push(`verifier ${JSON.stringify(predicate.verifier.id)} is not ${JSON.stringify(want.verifierId)}`);
    if (want.resourceUri !== undefined && predicate.resourceUri !== want.resourceUri)
      why.push(
        `resourceUri ${JSON.stringify(predicate.resourceUri)} is not ${JSON.stringify(want.resourceUri)}`,
      );
    if (predicate.verificationResult !== 'PASSED')
      why.push(`verificationResult is ${predicate.verificationResult}`);
    for (const level of want.verifiedLevels ?? []) {
      if (!levelMet(level, predicate.verifiedLevels))
        why.push(`level ${level} not verified (${predicate.verifiedLevels.join(', ')})`);
    }
    if (why.length === 0)
      return pass('vsa', `${predicate.verifier.id} verified ${predicate.verifiedLevels.join(', ')}`, [
        att.digest,
      ]);
    problems.push(`${att.origin}: ${why.join('; ')}`);
  }
  return fail(
    'vsa',
    'VSA_MISMATCH',
    problems.join(' | '),
    vsas.map((a) => a.digest),
  );
}

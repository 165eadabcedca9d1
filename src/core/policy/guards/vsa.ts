/**
 * Check `vsa`: a VSA given as input names the expected verifier and resource, says PASSED,
 * and verified at least the expected levels (slsa-verifier verifiers/internal/vsa).
 */
import type { CheckResult, Signer, EvaluatedAttestation } from '../../model.ts';
import { SLSA_VSA_V1 } from '../../formats/slsa/vsa-v1.ts';
import { readVsa, vsaMismatches, type VsaExpectation } from '../../vsa/verification-summary.ts';
import type { PolicyRule } from '../policy-rule.ts';
import { fail, pass, skipped } from '../check-result.ts';
import { identityMismatches } from './identity.ts';

/**
 * A key the operator configured (`--public-key`, trust-material.ts names it `public-key` or
 * `public-key:<id>`): with no identity named for VSAs, only such a key may sign one, as
 * slsa-verifier verify-vsa verifies with the given key alone (issue 11 class 1). A Sigstore
 * certificate of anyone, or a key shipped for provenance (npm registry, Cloud Build), never does.
 */
function isConfiguredKey(signer: Signer): boolean {
  return (
    signer.kind === 'key' && (signer.trustedBy === 'public-key' || signer.trustedBy.startsWith('public-key:'))
  );
}

/** The VSA check over the attestations. */
export function checkVsa(rule: PolicyRule, attestations: EvaluatedAttestation[]): CheckResult {
  const want = rule.vsa;
  if (want === undefined) return skipped('vsa', 'no VSA expectation');
  const vsas = attestations.filter((a) => a.predicateType === SLSA_VSA_V1);
  if (vsas.length === 0) return fail('vsa', 'VSA_MISMATCH', 'no SLSA VSA v1 among the attestations', []);
  // The VSA's facts count only from a signer the rule accepts for VSAs: never one VSA's
  // signer with another's content (docs/checklist.md#row-18).
  const signers = want.identities ?? (rule.requireProvenance ? [] : rule.identities);
  const problems: string[] = [];
  for (const att of vsas) {
    const accepted =
      signers.length > 0
        ? signers.some((id) => identityMismatches(id, att.signer).length === 0)
        : isConfiguredKey(att.signer);
    if (!accepted) {
      problems.push(`${att.origin}: not signed by an identity this rule accepts for VSAs`);
      continue;
    }
    const read = readVsa(att);
    if ('code' in read) {
      problems.push(`${att.origin}: ${read.message}`);
      continue;
    }
    const predicate = read.vsa;
    const expectation: VsaExpectation = {};
    if (want.verifierId !== undefined) expectation.verifierIds = [want.verifierId];
    if (want.resourceUri !== undefined) expectation.resourceUris = [want.resourceUri];
    if (want.verifiedLevels !== undefined) expectation.verifiedLevels = want.verifiedLevels;
    const why = vsaMismatches(predicate, expectation).map((m) => m.message);
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

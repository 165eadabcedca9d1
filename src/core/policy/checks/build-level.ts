/**
 * Check `build-level` (2): the level the trust map grants the builder that signed is at
 * least the rule's minimum (SLSA v1.0 build track levels).
 */
import type { CheckResult, EvaluatedAttestation } from '../../model.ts';
import { fail, pass } from '../check-result.ts';
import type { PolicyRule } from '../policy-rule.ts';
import type { BuilderTrust } from '../trust-map.ts';

/** The build-level check: the trust map's level for this builder is at least the rule's minimum. */
export function checkBuildLevel(
  rule: PolicyRule,
  att: EvaluatedAttestation,
  trust: BuilderTrust,
): CheckResult {
  const evidence = [att.digest];
  if (trust.level < rule.minBuildLevel)
    return fail(
      'build-level',
      'BUILD_LEVEL_INSUFFICIENT',
      `${att.origin}: builder reaches SLSA Build L${trust.level}, the rule needs L${rule.minBuildLevel}`,
      evidence,
      trust.level,
    );
  return pass('build-level', `SLSA Build L${trust.level} (needs L${rule.minBuildLevel})`, evidence, {
    level: trust.level,
  });
}

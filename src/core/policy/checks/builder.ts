/**
 * Check `builder` (1). The builder must be the expected one and trusted by the trust map
 * for this signer; a workflow builder.id that is not the certificate's Build Signer URI,
 * found by normalisation, fails here (docs/checklist.md#row-19).
 */
import type { CheckResult, EvaluatedAttestation } from '../../model.ts';
import type { Provenance, ProvenanceFinding } from '../../provenance/provenance.ts';
import type { PolicyRule } from '../policy-rule.ts';
import { builderTrust, type BuilderTrust, type TrustMap } from '../trust-map.ts';
import { fail, pass } from '../check-result.ts';

/** slsa-verifier TrustedBuilderID.MatchesLoose(allowRef): names equal; a version, if expected, equal or `refs/tags/<v>`. */
export function builderIdMatches(expected: string, builder: Provenance['builder']): boolean {
  const [name, version, extra] = expected.split('@');
  if (extra !== undefined || version === '') return false;
  if (name !== builder.name) return false;
  if (version === undefined) return true;
  return version === builder.version || `refs/tags/${version}` === builder.version;
}

/** The builder check and what the trust map said, for the build-level check. */
export function checkBuilder(
  rule: PolicyRule,
  att: EvaluatedAttestation,
  provenance: Provenance,
  findings: readonly ProvenanceFinding[],
  trustMap: TrustMap,
): { check: CheckResult; trust: BuilderTrust } {
  const evidence = [att.digest];
  const trust = builderTrust(trustMap, att.signer, provenance);
  const forged = findings.find((f) => f.check === 'builder');
  if (forged !== undefined) return { check: fail('builder', forged.code, forged.message, evidence), trust };
  const id = provenance.builder.id;
  const where = `${att.origin}: builder ${JSON.stringify(id)}`;
  if (trust.revoked !== undefined)
    return {
      check: fail('builder', 'BUILDER_UNTRUSTED', `${where} is revoked: ${trust.revoked.reason}`, evidence),
      trust,
    };
  if (rule.builders.length > 0) {
    if (!rule.builders.some((b) => builderIdMatches(b, provenance.builder)))
      return {
        check: fail(
          'builder',
          'BUILDER_UNTRUSTED',
          `${where} is not the expected ${rule.builders.join(' or ')}`,
          evidence,
        ),
        trust,
      };
  } else if (rule.requireBuilderId) {
    return {
      check: fail(
        'builder',
        'BUILDER_UNTRUSTED',
        `${where}: this rule needs an expected builder id`,
        evidence,
      ),
      trust,
    };
  }
  if (trust.entry === undefined) {
    // An unknown builder is level 0; it is acceptable only where the rule itself pins both the
    // builder and the signer, or does not ask for a trusted builder but pins the signer.
    const pinnedByRule =
      rule.identities.length > 0 && (rule.builders.length > 0 || !rule.requireTrustedBuilder);
    if (!pinnedByRule)
      return {
        check: fail(
          'builder',
          'BUILDER_UNTRUSTED',
          `${where} signed by ${att.signer.identity ?? att.signer.keyId ?? 'an unknown signer'} is not in the builder trust map`,
          evidence,
          0,
        ),
        trust,
      };
    return {
      check: pass('builder', `${where} is pinned by the rule (not in the trust map: level 0)`, evidence, {
        level: 0,
      }),
      trust,
    };
  }
  if (trust.entry.requireExpectedBuilder && rule.builders.length === 0)
    return {
      check: fail(
        'builder',
        'BUILDER_UNTRUSTED',
        `${where} (${trust.entry.name}) must be named as the expected builder`,
        evidence,
      ),
      trust,
    };
  return {
    check: pass('builder', `${where} trusted as ${trust.entry.name}`, evidence, { level: trust.level }),
    trust,
  };
}

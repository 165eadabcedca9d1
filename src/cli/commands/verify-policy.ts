import type { ArtifactRef, CheckResult, VerifiedAttestation } from '../../core/model.ts';
import { checkIdentity } from '../../core/policy/guards/identity.ts';
import type { PolicyRule } from '../../core/policy/policy-rule.ts';
import { defaultTrustMap, type TrustMap } from '../../core/policy/trust-map.ts';
import { ruleFromVerifierFlags, type VerifierFlags } from '../../core/policy/verifier-flags.ts';
import { POLICY_FILE_LIMIT_BYTES, readFileCapped } from '../../loaders/read-file-capped.ts';

type CliFlags = { [K in keyof VerifierFlags]?: VerifierFlags[K] | undefined };

function definedFlags(flags: CliFlags): VerifierFlags {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as VerifierFlags;
}

/** `verify --bundle-only`: the identity check alone, on every verified attestation. */
export function identityChecks(attestations: VerifiedAttestation[], flags: CliFlags): CheckResult[] {
  const rule = ruleFromVerifierFlags({ ...definedFlags(flags), mode: 'signature' });
  return attestations.map((att) => checkIdentity(rule, att));
}

/** The trust map `slsa-gate verify` evaluates builders against. */
export function cliTrustMap(): TrustMap {
  return defaultTrustMap();
}

/** The rule `slsa-gate verify` evaluates: a policy file's rule for the artifact, or a rule from the expectation flags. */
export async function ruleForCli(input: {
  artifact: ArtifactRef;
  policyFile?: string;
  flags: CliFlags;
}): Promise<PolicyRule> {
  if (input.policyFile !== undefined) {
    // The policy file's schemas and YAML parser load only for --policy (docs/benchmarks.md#cli).
    const { parsePolicy, selectRule } = await import('../../core/policy/policy-file.ts');
    const text = readFileCapped(input.policyFile, POLICY_FILE_LIMIT_BYTES, 'policy').toString('utf8');
    const { policy, warnings } = parsePolicy(text, input.policyFile);
    // Breadth the policy accepts (`allowBroad: true`) is said here too, never silent.
    if (warnings.length > 0) (await import('./policy.ts')).printWarnings(input.policyFile, warnings);
    return selectRule(policy, input.artifact.uri ?? '');
  }
  return ruleFromVerifierFlags(definedFlags(input.flags));
}

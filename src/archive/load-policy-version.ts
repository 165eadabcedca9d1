/**
 * Making a policy text the one in force, the one way `slsa-gate policy load` and the API's
 * `POST /api/v1/policies` both do it: checked exactly as `slsa-gate policy check` checks a
 * file (its size cap, then parsePolicy against the trust map the worker uses), then stored as
 * a new version naming who loaded it and from where (Archive.loadPolicy: no new version when
 * the text in force is the same). An invalid policy is never stored: the worker would have
 * nothing to evaluate with (docs/checklist.md#row-10).
 */
import { GateError } from '../core/errors.ts';
import { parsePolicy, type PolicyProblem } from '../core/policy/policy-file.ts';
import type { TrustMap } from '../core/policy/trust-map.ts';
import { POLICY_FILE_LIMIT_BYTES } from '../loaders/read-file-capped.ts';
import type { Archive } from './archive.ts';
import type { PolicyVersionRecord } from './policy-version-record.ts';

export interface PolicyLoad {
  text: string;
  /** Where the text came from: a file path, or the API and the name its caller gave. */
  origin: string;
  /** Who loaded it: the operator's account, or the identity the API verified. */
  loadedBy: string;
  trustMap: TrustMap;
}

/**
 * Checks a policy text and makes it the policy in force; POLICY_INVALID, POLICY_INCOMPLETE,
 * POLICY_TOO_BROAD or LIMIT_EXCEEDED first. The breadth findings its rules accept
 * (`allowBroad: true`) come back as warnings for the caller to show.
 */
export async function loadPolicyVersion(
  archive: Pick<Archive, 'loadPolicy'>,
  load: PolicyLoad,
): Promise<{ version: PolicyVersionRecord; created: boolean; rules: number; warnings: PolicyProblem[] }> {
  const size = Buffer.byteLength(load.text, 'utf8');
  if (size > POLICY_FILE_LIMIT_BYTES)
    throw new GateError(
      'LIMIT_EXCEEDED',
      `policy ${load.origin}: ${size} bytes, more than ${POLICY_FILE_LIMIT_BYTES}`,
      { detail: { origin: load.origin, limit: POLICY_FILE_LIMIT_BYTES } },
    );
  const { policy, digest, warnings } = parsePolicy(load.text, load.origin, load.trustMap);
  const { version, created } = await archive.loadPolicy({
    digest,
    text: load.text,
    loadedBy: load.loadedBy,
    origin: load.origin,
  });
  return { version, created, rules: policy.rules.length, warnings };
}

/**
 * The admin route that loads the operator's policy (scope `admin`, checked by server.ts):
 *
 *   POST /api/v1/policies   {"policy": "<YAML or JSON text>", "origin": "policies/prod.yaml"}
 *
 * The same path as `slsa-gate policy load` (archive/load-policy-version.ts): checked as
 * `policy check` checks a file, then a new version, recorded under the identity the API
 * verified, never a name the caller typed.
 */
import * as z from 'zod';
import { loadPolicyVersion } from '../archive/load-policy-version.ts';
import type { Archive } from '../archive/archive.ts';
import { isGateError } from '../core/errors.ts';
import type { PolicyProblem } from '../core/policy/policy-file.ts';
import type { TrustMap } from '../core/policy/trust-map.ts';
import type { ApiPrincipal } from './api-tokens.ts';
import { ApiFailure, badBody } from './publish-routes.ts';

/** The JSON body of POST /api/v1/policies. */
export const LoadPolicyBodySchema = z.strictObject({
  /** The policy text, as `slsa-gate policy load` reads it from a file. */
  policy: z.string().min(1),
  /** Where the text came from, for the record (`api:<origin>`); the caller's own naming. */
  origin: z.string().min(1).max(512).optional(),
});

/** Loads the policy in the body as the policy in force: 201 with the new version, 200 when it already is. */
export async function loadPolicyFromApi(
  archive: Archive,
  principal: ApiPrincipal,
  body: unknown,
  trustMap: TrustMap,
): Promise<{ status: number; body: unknown }> {
  const parsed = LoadPolicyBodySchema.safeParse(body);
  if (!parsed.success) throw badBody(parsed.error);
  const { policy: text, origin } = parsed.data;
  try {
    const { version, created, rules, warnings } = await loadPolicyVersion(archive, {
      text,
      origin: origin === undefined ? 'api' : `api:${origin}`,
      loadedBy: principal.identity.id,
      trustMap,
    });
    return { status: created ? 201 : 200, body: { ...version, created, rules, warnings } };
  } catch (err) {
    if (!isGateError(err)) throw err;
    if (
      err.code === 'POLICY_INVALID' ||
      err.code === 'POLICY_INCOMPLETE' ||
      err.code === 'POLICY_TOO_BROAD'
    ) {
      const problems = (err.detail?.problems ?? []) as PolicyProblem[];
      throw new ApiFailure(400, err.code, `the policy has ${problems.length} problem(s)`, 'policy', problems);
    }
    if (err.code === 'LIMIT_EXCEEDED') throw new ApiFailure(413, 'PAYLOAD_TOO_LARGE', err.message, 'policy');
    throw err;
  }
}

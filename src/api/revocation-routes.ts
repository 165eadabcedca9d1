/**
 * The administrators' revocation route:
 *
 *   POST /api/v1/revocations  {"digest": "sha256:…", "reason": "…"}   (scope admin)
 *
 * starts the revokeDigest workflow (src/workflows/revoke-digest.ts) with the caller's verified
 * identity sealed into it, for this digest and reason, so the archive records who revoked,
 * never a typed name. Answers
 * 202 with the workflow id once Temporal accepted the start; running the same revocation
 * again joins or repeats it and changes nothing.
 */
import * as z from 'zod';
import { requestDigestOf, sealIdentity } from '../core/identity-seal.ts';
import { TASK_QUEUE } from '../workflows/contract.ts';
import {
  RevokeRequestSchema,
  revokeWorkflowId,
  unsealedRevokeRequest,
  type RevokeRequest,
} from '../workflows/revocation-contract.ts';
import type { revokeDigest } from '../workflows/revoke-digest.ts';
import type { ApiPrincipal } from './api-tokens.ts';
import { badBody, identityOf, requireScope, withinTime, type PublishApiOptions } from './publish-routes.ts';

/** The JSON body of POST /api/v1/revocations. */
export const RevocationBodySchema = z.strictObject({
  digest: RevokeRequestSchema.shape.digest,
  reason: RevokeRequestSchema.shape.reason,
});

/** Starts the revocation of a digest for an authenticated administrator. */
export async function startRevocation(
  options: PublishApiOptions,
  principal: ApiPrincipal,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  requireScope(principal, 'admin');
  const parsed = RevocationBodySchema.safeParse(body);
  if (!parsed.success) throw badBody(parsed.error);
  const { digest, reason } = parsed.data;
  const workflowId = revokeWorkflowId(digest);
  const unsealed: RevokeRequest = { digest, reason, requestedBy: principal.name.slice(0, 256) };
  const request: RevokeRequest = {
    ...unsealed,
    identity: sealIdentity(options.identityKey, {
      identity: identityOf(principal),
      purpose: 'revoke',
      workflowId,
      requestDigest: requestDigestOf(unsealedRevokeRequest(unsealed)),
    }),
  };
  const checked = RevokeRequestSchema.safeParse(request);
  if (!checked.success) throw badBody(checked.error);
  const handle = await withinTime(
    options.temporalTimeoutMs ?? 10_000,
    'starting the revocation',
    options.client.workflow.start<typeof revokeDigest>('revokeDigest', {
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowId,
      args: [checked.data],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  );
  return { status: 202, body: { workflowId, runId: handle.firstExecutionRunId } };
}

/**
 * Admission of a publish request, before any step (docs/security-model.md#one-credential-one-run):
 * the digest of the request, and the requester its seal vouches for. A seal is honoured only
 * for the workflow and the request it was issued for, within its lifetime counted from the
 * run's start, and for one run: the first run presenting it consumes its nonce in the archive.
 */
import { GateError } from '../core/errors.ts';
import type { Identity } from '../core/identity.ts';
import { openSealedIdentity, requestDigestOf } from '../core/identity-seal.ts';
import { PublishRequestSchema } from '../workflows/contract.ts';
import type { ActivityDeps } from './deps.ts';

export function createAdmissionActivities(deps: ActivityDeps) {
  return {
    /**
     * The request's digest and its verified requester (none for an unsealed request: an
     * operator's CLI). IDENTITY_UNVERIFIED or SEAL_MISMATCH deny the run before any step.
     */
    async admitRequest(input: {
      request: unknown;
      workflowId: string;
      runId: string;
      /** The run's start as Temporal recorded it: when the seal was presented. */
      startedAt: string;
    }): Promise<{ requestDigest: string; requester?: Identity }> {
      const parsed = PublishRequestSchema.safeParse(input.request);
      if (!parsed.success) throw new GateError('INPUT_INVALID', 'the request does not fit its schema');
      const { requesterIdentity, ...unsealed } = parsed.data;
      const requestDigest = requestDigestOf(unsealed);
      if (!requesterIdentity) return { requestDigest };
      if (!deps.identityKey)
        throw new GateError(
          'IDENTITY_UNVERIFIED',
          'the worker has no SLSA_GATE_IDENTITY_KEY: no identity can be verified',
        );
      const requester = openSealedIdentity(deps.identityKey, requesterIdentity, {
        purpose: 'request',
        workflowId: input.workflowId,
        requestDigest,
        now: new Date(input.startedAt),
      });
      const { nonce } = requesterIdentity;
      if (nonce === undefined)
        throw new GateError(
          'SEAL_MISMATCH',
          'the request seal names no nonce: it cannot be bound to one run',
        );
      const owner = await deps.archive.claimRequestSeal({
        nonce,
        workflowId: input.workflowId,
        runId: input.runId,
        requester: requester.id,
        requestDigest,
        at: input.startedAt,
      });
      if (owner.workflowId !== input.workflowId || owner.runId !== input.runId)
        throw new GateError(
          'SEAL_MISMATCH',
          'this request seal was consumed by another run: a new run needs a new request',
          { detail: { workflowId: owner.workflowId, runId: owner.runId } },
        );
      return { requestDigest, requester };
    },
  };
}

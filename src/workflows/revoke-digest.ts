import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import { RevokeRequestSchema, type RevokeRequest, type RevokeResult } from './revocation-contract.ts';

type Activities = ReturnType<typeof createActivities>;

// Registry and store outages are retried with backoff until they pass: a revocation must
// finish. Coded failures that would fail again (a refused seal, refused registry
// credentials) are non-retryable and fail the run; running it again resumes where it stopped.
const io = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Revokes an artifact digest, durably: archives the revocation first (from then on the
 * publish path denies the digest, `REVOKED`), then in every release repository the gate
 * published it to attaches a FAILED VSA signed with the gate's key (what consumers without
 * archive access see) and moves the release tags that still name it to its revocation notice.
 * Every step is idempotent: running the same revocation again changes nothing.
 */
export async function revokeDigest(request: RevokeRequest): Promise<RevokeResult> {
  const { workflowId, runId, startTime } = workflowInfo();
  // The whole request is checked before the first side effect.
  const parsed = RevokeRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`,
      'INPUT_INVALID',
    );
  }
  const { revocation, recorded } = await io.recordRevocation({
    digest: request.digest,
    reason: request.reason,
    requestedBy: request.requestedBy,
    ...(request.identity ? { identity: request.identity } : {}),
    workflowId,
    runId,
    requestedAt: startTime.toISOString(),
    // Workflow time: the same on replay.
    at: new Date().toISOString(),
  });
  const releases: RevokeResult['releases'] = [];
  for (const target of await io.revocationTargets({ digest: request.digest })) {
    const { vsaDigest } = await io.attachRevocationVsa({
      digest: request.digest,
      repository: target.repository,
      decisionId: target.decisionId,
      revocation,
    });
    const tags = await io.moveRevokedTags({
      digest: request.digest,
      repository: target.repository,
      tags: target.tags,
    });
    releases.push({ repository: target.repository, decisionId: target.decisionId, vsaDigest, ...tags });
  }
  const { by, verified, reason, at } = revocation;
  return {
    digest: request.digest,
    revocation: {
      by,
      verified,
      reason,
      at: new Date(at).toISOString(),
      workflowId: revocation.workflowId,
      runId: revocation.runId,
    },
    recorded,
    releases,
  };
}

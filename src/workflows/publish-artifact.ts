import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { CheckResult, Outcome } from '../core/model.ts';
import type { Approval, PublishProgress, PublishRequest, PublishResult, PublishStatus } from './contract.ts';
import { approveUpdate, progressQuery, rejectUpdate } from './definitions.ts';
import * as sa from './search-attributes.ts';

type Activities = ReturnType<typeof createActivities>;

// Registry and store outages are retried with backoff. Coded denials are not: the activities
// raise them as non-retryable failures, as the code's entry in src/core/errors.ts says.
const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
};
// Short steps: a worker that dies during one is replaced within a minute.
const io = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry });
const longIo = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30s',
  retry,
});

const LEVEL_CHUNK = 50;
const LEVEL_CHUNKS_IN_FLIGHT = 4;
type LevelResolution = Awaited<ReturnType<Activities['resolveLevelChunk']>>;

/**
 * Resolves source and dependency levels through the attestors: chunks of LEVEL_CHUNK
 * resources, at most LEVEL_CHUNKS_IN_FLIGHT activities at once. Pending answers wait on a
 * durable timer and are asked again; outages are retried by the activity's policy. At the
 * deadline the lookups run once more without failing on what is missing, which is level 0.
 */
async function resolveLevels(
  facts: Parameters<Activities['planLevelResources']>[0]['facts'],
  setStatus: (status: PublishStatus) => void,
): Promise<LevelResolution> {
  const { resources, deadlineSeconds } = await io.planLevelResources({ facts });
  const deadline = Date.now() + deadlineSeconds * 1000;
  const chunks: Array<typeof resources> = [];
  for (let i = 0; i === 0 || i < resources.dependencies.length; i += LEVEL_CHUNK) {
    chunks.push({
      ...(i === 0 && resources.source ? { source: resources.source } : {}),
      ...(i === 0 && resources.sourceReason ? { sourceReason: resources.sourceReason } : {}),
      dependencies: resources.dependencies.slice(i, i + LEVEL_CHUNK),
    });
  }
  const resolveAll = async (failOnUnavailable: boolean): Promise<LevelResolution> => {
    const lookups = proxyActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: '1 minute',
      // Outages are retried until the deadline, never past it.
      ...(failOnUnavailable ? { scheduleToCloseTimeout: Math.max(1000, deadline - Date.now()) } : {}),
      retry: { ...retry, initialInterval: '2s', maximumInterval: '1 minute' },
    });
    const parts: LevelResolution[] = [];
    for (let i = 0; i < chunks.length; i += LEVEL_CHUNKS_IN_FLIGHT) {
      const batch = chunks.slice(i, i + LEVEL_CHUNKS_IN_FLIGHT);
      parts.push(
        ...(await Promise.all(
          batch.map((chunk) => lookups.resolveLevelChunk({ resources: chunk, failOnUnavailable })),
        )),
      );
    }
    return parts.length === 1 && parts[0] ? parts[0] : await io.mergeLevelChunks({ parts });
  };

  for (;;) {
    let resolution: LevelResolution;
    try {
      resolution = await resolveAll(true);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      break; // attestors unreachable until the deadline
    }
    if (resolution.status === 'complete') return resolution;
    const wait = Math.max(1, ...resolution.pending.map((p) => p.retryAfterSeconds ?? 5)) * 1000;
    if (Date.now() + wait >= deadline) break;
    setStatus('WaitingForAttestations');
    await sleep(wait);
    setStatus('Verifying');
  }
  return await resolveAll(false);
}

/** The durable publish pipeline: pin, fetch, verify, resolve levels, evaluate, approve, archive, publish, attest. */
export async function publishArtifact(request: PublishRequest): Promise<PublishResult> {
  const { candidate } = request;
  const decisionId = `${workflowInfo().workflowId}/${workflowInfo().runId}`;
  const progress: PublishProgress = { status: 'Resolving', checks: [] };
  let verdict: { approval: Approval; verdict: 'approve' | 'reject'; at: string } | undefined;
  let approvalOpen = false;
  let twoPersonRule = false;

  setHandler(progressQuery, () => progress);
  // A refused update is a coded failure the caller branches on by type (src/core/errors.ts).
  const refuse = (code: ErrorCode, message: string) =>
    ApplicationFailure.create({ type: code, message, nonRetryable: true });
  const approvalValidator = (approval: Approval) => {
    if (!approvalOpen) throw refuse('INPUT_INVALID', 'this publish is not awaiting approval');
    if (!approval.approver.trim() || !approval.reason.trim())
      throw refuse('INPUT_INVALID', 'approver and reason are required');
    if (twoPersonRule && approval.approver === request.requester) {
      throw refuse('APPROVER_NOT_ALLOWED', 'the policy requires an approver other than the requester');
    }
  };
  const onVerdict = (kind: 'approve' | 'reject') => async (approval: Approval) => {
    // The first verdict wins; later ones only see the state it produced.
    if (!verdict) verdict = { approval, verdict: kind, at: new Date().toISOString() };
    // The caller (a person or CI) gets the verdict's effect: published or denied.
    await condition(() => progress.result !== undefined);
    return progress;
  };
  setHandler(approveUpdate, onVerdict('approve'), { validator: approvalValidator });
  setHandler(rejectUpdate, onVerdict('reject'), { validator: approvalValidator });

  const setStatus = (status: PublishStatus) => {
    progress.status = status;
    upsertSearchAttributes([{ key: sa.PublishStatus, value: status }]);
  };
  // `Repository` names the release repository, as the workflow id does, so a Temporal query
  // by the repository consumers pull from finds its publishes; histories recorded before
  // this change replay with the staging repository they upserted.
  const repository = patched('repository-attribute-is-release')
    ? `${request.releaseRegistry}/${request.releaseRepository}`
    : `${candidate.registry}/${candidate.repository}`;
  upsertSearchAttributes([
    { key: sa.ArtifactDigest, value: candidate.digest },
    { key: sa.Repository, value: repository },
    { key: sa.PublishStatus, value: 'Resolving' },
  ]);

  const deny = async (
    outcome: Outcome,
    code: string,
    reason: string,
    checks: CheckResult[],
    policyDigest?: string,
  ) => {
    const result: PublishResult = {
      status: 'DENIED',
      decisionId,
      outcome,
      candidate,
      code,
      reason,
      checks,
      ...(policyDigest ? { policyDigest } : {}),
      ...(verdict ? { approval: { ...verdict.approval, verdict: verdict.verdict, at: verdict.at } } : {}),
    };
    progress.result = result;
    setStatus('Denied');
    return result;
  };

  try {
    await io.pinCandidate(candidate);

    setStatus('FetchingAttestations');
    const evidence = await longIo.collectEvidence({ candidate, inline: request.attestations ?? [] });
    const { facts } = evidence;
    const found = [
      ...(facts.builderId ? [{ key: sa.BuilderId, value: facts.builderId }] : []),
      ...(facts.sourceRepo ? [{ key: sa.SourceRepo, value: facts.sourceRepo }] : []),
    ];
    // An empty upsert is an invalid command that would fail the workflow task.
    if (found.length > 0) upsertSearchAttributes(found);

    setStatus('Verifying');
    const resolution = await resolveLevels(facts, setStatus);
    const levels = resolution.levels;

    setStatus('Evaluating');
    const decidedAt = new Date().toISOString();
    const evaluated = await io.evaluatePolicy({
      candidate,
      attestationDigests: evidence.digests,
      levels,
      ...(request.policy ? { policy: request.policy } : {}),
      now: decidedAt,
      release: {
        repository: `${request.releaseRegistry}/${request.releaseRepository}`,
        ...((request.releaseTag ?? candidate.tag) ? { tag: request.releaseTag ?? candidate.tag } : {}),
      },
    });
    const { evaluation, policyDigest } = evaluated;
    progress.outcome = evaluation.outcome;
    progress.checks = evaluation.checks;
    twoPersonRule = evaluated.approval.twoPersonRule;

    const decisionBase = {
      decisionId,
      workflowId: workflowInfo().workflowId,
      runId: workflowInfo().runId,
      candidate,
      releaseRepository: `${request.releaseRegistry}/${request.releaseRepository}`,
      requester: request.requester,
      evaluation,
      policyDigest,
      attestationDigests: evidence.digests,
      facts,
      decidedAt,
    };
    // No publish without an archived decision: the decision is stored before anything else happens.
    await io.recordDecision(decisionBase);
    progress.decisionId = decisionId;

    if (evaluation.outcome === 'FAILED') {
      await io.transitionDecision({ decisionId, from: 'decided', to: 'denied' });
      const failed = evaluation.checks.find((c) => c.result === 'FAIL');
      return await deny(
        'FAILED',
        failed?.code ?? 'POLICY_DENIED',
        failed?.reason ?? 'policy denied',
        evaluation.checks,
        policyDigest,
      );
    }

    if (evaluation.outcome === 'NEEDS_APPROVAL') {
      await io.transitionDecision({ decisionId, from: 'decided', to: 'awaiting-approval' });
      const deadline = new Date(Date.now() + evaluated.approval.deadlineSeconds * 1000);
      progress.approvalDeadline = deadline.toISOString();
      setStatus('AwaitingApproval');
      approvalOpen = true;
      const answered = await condition(
        () => verdict !== undefined,
        evaluated.approval.deadlineSeconds * 1000,
      );
      approvalOpen = false;
      if (!answered || !verdict) {
        await io.transitionDecision({ decisionId, from: 'awaiting-approval', to: 'expired' });
        return await deny(
          'NEEDS_APPROVAL',
          'APPROVAL_EXPIRED',
          'no approval before the deadline',
          evaluation.checks,
          policyDigest,
        );
      }
      await io.recordApproval({ decisionId, ...verdict.approval, verdict: verdict.verdict, at: verdict.at });
      if (verdict.verdict === 'reject') {
        await io.transitionDecision({
          decisionId,
          from: 'awaiting-approval',
          to: 'rejected',
          by: verdict.approval.approver,
        });
        return await deny(
          'NEEDS_APPROVAL',
          'APPROVAL_REJECTED',
          verdict.approval.reason,
          evaluation.checks,
          policyDigest,
        );
      }
      await io.transitionDecision({
        decisionId,
        from: 'awaiting-approval',
        to: 'approved',
        by: verdict.approval.approver,
      });
    }

    setStatus('Publishing');
    const published = await longIo.publishImage({
      candidate,
      releaseRegistry: request.releaseRegistry,
      releaseRepository: request.releaseRepository,
      releaseTag: request.releaseTag ?? candidate.tag,
    });
    const vsa = await io.attachVsa({
      decisionId,
      candidate,
      releaseRegistry: request.releaseRegistry,
      releaseRepository: request.releaseRepository,
      evaluation,
      policyDigest,
      attestationDigests: evidence.digests,
      dependencyLevels: resolution.dependencyLevels,
      decidedAt,
    });
    await io.markPublished({
      decisionId,
      repository: `${request.releaseRegistry}/${request.releaseRepository}`,
      digest: published.digest,
      ...(published.tag ? { tag: published.tag } : {}),
      vsaDigest: vsa.vsaDigest,
      at: new Date().toISOString(),
    });

    const result: PublishResult = {
      status: 'PUBLISHED',
      decisionId,
      outcome: evaluation.outcome,
      candidate,
      reason: verdict
        ? `approved by ${verdict.approval.approver}: ${verdict.approval.reason}`
        : 'every check passed',
      checks: evaluation.checks,
      policyDigest,
      published: { reference: published.reference, digest: published.digest, vsaDigest: vsa.vsaDigest },
      ...(verdict ? { approval: { ...verdict.approval, verdict: verdict.verdict, at: verdict.at } } : {}),
    };
    progress.result = result;
    setStatus('Published');
    return result;
  } catch (err) {
    // A coded, non-retryable activity failure is a denial: archive it and close, never loop.
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.nonRetryable && cause.type) {
      log.warn('publish denied by a non-retryable failure', { type: cause.type, message: cause.message });
      await io.recordDenial({
        decisionId,
        workflowId: workflowInfo().workflowId,
        runId: workflowInfo().runId,
        candidate,
        releaseRepository: `${request.releaseRegistry}/${request.releaseRepository}`,
        requester: request.requester,
        code: cause.type,
        reason: cause.message,
        ...(request.policy ? { policy: request.policy } : {}),
        at: new Date().toISOString(),
      });
      return await deny('FAILED', cause.type, cause.message, progress.checks);
    }
    throw err;
  }
}

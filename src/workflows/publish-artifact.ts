import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxySinks,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ArtifactKind, CheckResult, Outcome, Rejection } from '../core/model.ts';
import type { Identity } from '../core/identity.ts';
import { verdictCounts, type ApprovalQuorum } from '../core/policy/approval-quorum.ts';
import {
  alreadyPublishedResult,
  ApprovalSchema,
  artifactKindOf,
  isEnd,
  publicationOf,
  PublishRequestSchema,
  type Approval,
  type PublishProgress,
  type PublishRequest,
  type PublishResult,
  type PublishMemo,
  type PublishStatus,
  type Verdict,
} from './contract.ts';
import { approveUpdate, progressQuery, rejectUpdate } from './definitions.ts';
import type { PublishSinks } from './publish-sinks.ts';
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

/**
 * The activity that publishes each kind of artifact: the one place that decides which
 * publisher copies a candidate to its release destination. Each publisher is an activity of
 * its own, so a run's history names what it published; a kind with no publisher here is
 * refused before the first side effect.
 */
const PUBLISHERS: Partial<
  Record<ArtifactKind, 'publishImage' | 'publishNpmPackage' | 'publishFileArtifact'>
> = {
  'container-image': 'publishImage',
  'npm-package': 'publishNpmPackage',
  'oci-blob': 'publishFileArtifact',
};

/** Runs recorded before revocations were enforced replay without the two revocation reads. */
const REVOCATION_PATCH = 'deny-revoked-digest';

const { publishSteps } = proxySinks<PublishSinks>();

/** How a step ended, for its log line and histogram: `cancelled`, the failure's code, or `error`. */
function stepOutcome(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type ? cause.type : 'error';
}

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

/** A verdict sent by an Update, waiting for the pipeline to check who sent it. */
interface PendingVerdict {
  approval: Approval;
  kind: 'approve' | 'reject';
  at: string;
  atMs: number;
  refused?: { code: string; message: string };
  accepted?: boolean;
}

/** The first issue of a zod parse, as `field: message` (for a coded INPUT_INVALID). */
function firstIssue(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || 'request'}: ${issue.message}` : 'invalid';
}

/**
 * The quorum of an evaluation as recorded. Histories recorded before quorums hold
 * `{twoPersonRule, approvers?, deadlineSeconds}`: one approver, not the requester under the rule.
 */
function quorumOf(recorded: Partial<ApprovalQuorum> & { twoPersonRule?: boolean }): ApprovalQuorum {
  return {
    required: recorded.required ?? 1,
    ...(recorded.groups ? { groups: recorded.groups } : {}),
    ...(recorded.approvers ? { approvers: recorded.approvers } : {}),
    excludeRequester: recorded.excludeRequester ?? recorded.twoPersonRule === true,
  };
}

/** A verdict that counted: as shown (contract.ts, no seal) and who the seal vouched for. */
interface CountedVerdict {
  shown: Verdict;
  identity?: Identity;
}

/** The durable publish pipeline: pin, fetch, verify, resolve levels, evaluate, approve, archive, publish, attest. */
export async function publishArtifact(request: PublishRequest): Promise<PublishResult> {
  const { candidate } = request;
  const kind = artifactKindOf(candidate);
  const decisionId = `${workflowInfo().workflowId}/${workflowInfo().runId}`;
  const progress: PublishProgress = { status: 'Resolving', checks: [] };
  let approvalOpen = false;
  let quorum: ApprovalQuorum | undefined;
  let requester: Identity | undefined;
  let deadlineMs: number | undefined;
  const pending: PendingVerdict[] = [];
  const counted: CountedVerdict[] = [];
  /** The verdict that decided: the approval that completed the quorum, or a reject. */
  let verdict: Verdict | undefined;
  const givenSoFar = () =>
    counted.map((c) => ({ approver: c.shown.approver, ...(c.identity ? { identity: c.identity } : {}) }));
  let admitted: Awaited<ReturnType<Activities['admitRequest']>> | undefined;
  // Milliseconds per step by the workflow's clock: up to the decision (archived with it), and
  // after it (archived with the publication).
  const timings: Record<string, number> = {};
  const laterTimings: Record<string, number> = {};
  const stepEnded = (step: string, outcome: string, durationMs: number, into: Record<string, number>) => {
    into[step] = (into[step] ?? 0) + durationMs;
    publishSteps.stepEnded({ step, outcome, durationMs, digest: candidate.digest });
  };
  /** Runs one step of the pipeline, timed and reported (src/workflows/publish-sinks.ts). */
  const step = async <T>(name: string, run: () => Promise<T>, into = timings): Promise<T> => {
    const started = Date.now();
    let outcome = 'ok';
    try {
      return await run();
    } catch (err) {
      outcome = stepOutcome(err);
      throw err;
    } finally {
      stepEnded(name, outcome, Date.now() - started, into);
    }
  };

  setHandler(progressQuery, () => progress);
  // Validators run before an Update is accepted into history: what fails here leaves no trace.
  const approvalValidator = (approval: Approval) => {
    if (!approvalOpen || !quorum)
      throw ApplicationFailure.nonRetryable('this publish is not awaiting approval', 'INPUT_INVALID');
    // Expiry wins ties (docs/security-model.md#how-a-run-ends): an Update delivered with the timer that ends the wait is late.
    if (deadlineMs !== undefined && Date.now() >= deadlineMs)
      throw ApplicationFailure.nonRetryable('the approval deadline has passed', 'APPROVAL_EXPIRED');
    const parsed = ApprovalSchema.safeParse(approval);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(firstIssue(parsed.error), 'INPUT_INVALID');
    // Group, distinct approver, not the requester: decided on what the caller claims, so that a
    // verdict that cannot count leaves no trace; recordApproval decides again on what the seal vouches for.
    const claimed = parsed.data.identity?.identity;
    const answer = verdictCounts(
      quorum,
      { ...(claimed ? { identity: claimed } : {}), typedName: parsed.data.approver },
      {
        ...(requester ? { requester } : {}),
        given: givenSoFar(),
        // Whether a typed name may count at all is the worker's setting, read by recordApproval.
        unverifiedAllowed: true,
      },
    );
    if (!answer.counts) throw ApplicationFailure.nonRetryable(answer.reason, 'APPROVER_NOT_ALLOWED');
  };
  const onVerdict = (kind: 'approve' | 'reject') => async (approval: Approval) => {
    if (deadlineMs !== undefined && Date.now() >= deadlineMs)
      throw ApplicationFailure.nonRetryable('the approval deadline has passed', 'APPROVAL_EXPIRED');
    // Verdicts count one at a time until one decides; later ones only see the state it produced.
    if (!verdict) {
      const entry: PendingVerdict = { approval, kind, at: new Date().toISOString(), atMs: Date.now() };
      pending.push(entry);
      await condition(() => entry.accepted === true || entry.refused !== undefined || verdict !== undefined);
      if (entry.refused) throw ApplicationFailure.nonRetryable(entry.refused.message, entry.refused.code);
      // Counted, and the quorum still needs more: the caller gets how far the approval is.
      if (entry.accepted && !verdict) return progress;
    }
    // The caller (a person or CI) gets the verdict's effect: published or denied.
    await condition(() => progress.result !== undefined);
    return progress;
  };
  setHandler(approveUpdate, onVerdict('approve'), { validator: approvalValidator });
  setHandler(rejectUpdate, onVerdict('reject'), { validator: approvalValidator });

  const setStatus = (status: PublishStatus, code?: string) => {
    progress.status = status;
    upsertSearchAttributes([{ key: sa.PublishStatus, value: status }]);
    // Every run that ends shows how in the Temporal UI's run view: a denial completes the run
    // as a workflow (a green COMPLETED), so the memo carries the verdict and its code.
    // The kind is shown for every kind but an image, so recorded runs keep the memo they wrote.
    if (isEnd(status) && patched('outcome-memo'))
      upsertMemo({
        outcome: status,
        ...(code ? { code } : {}),
        ...(kind === 'container-image' ? {} : { artifactKind: kind }),
      });
    // Each end sets the result first; the worker logs and times the run's end from it.
    if (isEnd(status) && progress.result)
      publishSteps.publishEnded({
        status: progress.result.status,
        ...(progress.result.code ? { code: progress.result.code } : {}),
        durationMs: Date.now() - workflowInfo().startTime.getTime(),
        digest: candidate.digest,
      });
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

  /** The attestations that did not count, once the evaluation has named them. */
  let rejected: Rejection[] = [];
  const verdictFields = () => ({
    ...(rejected.length > 0 ? { rejected } : {}),
    ...(verdict ? { approval: verdict } : {}),
    ...(progress.approvals ? { approvals: progress.approvals } : {}),
  });
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
      ...verdictFields(),
    };
    progress.result = result;
    setStatus('Denied', code);
    return result;
  };
  const context = () => ({
    decisionId,
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
    candidate,
    releaseRepository: `${request.releaseRegistry}/${request.releaseRepository}`,
    // Bounded, so that the denial record itself cannot fail on it.
    requester: request.requester.slice(0, 256) || 'unknown',
  });
  const denyCoded = async (code: string, reason: string) => {
    await io.recordDenial({
      ...context(),
      code,
      reason: reason.slice(0, 4000),
      at: new Date().toISOString(),
      timings,
    });
    return await deny('FAILED', code, reason, progress.checks);
  };

  try {
    // The whole request is checked before the first side effect. Recorded
    // histories predate the check and were valid; the patch keeps their replay unchanged.
    if (patched('validate-request')) {
      const parsed = PublishRequestSchema.safeParse(request);
      if (!parsed.success) return await denyCoded('INPUT_INVALID', firstIssue(parsed.error));
      if (PUBLISHERS[kind] === undefined)
        return await denyCoded('INPUT_INVALID', `candidate.artifactKind: no publisher for ${kind}`);
      // One credential, one run (docs/security-model.md#one-credential-one-run): the request's
      // seal is checked and consumed before any step; runs recorded before admit as they did.
      if (patched('admit-request-seal')) {
        admitted = await step('admitRequest', () =>
          io.admitRequest({
            request,
            workflowId: workflowInfo().workflowId,
            runId: workflowInfo().runId,
            startedAt: workflowInfo().startTime.toISOString(),
          }),
        );
        progress.requestDigest = admitted.requestDigest;
      }
      // A revoked digest is denied whatever the destination and tag, before the "already
      // published" answer: its first decision no longer stands (docs/security-model.md#revocation).
      if (patched(REVOCATION_PATCH))
        await step('denyIfRevoked', () => io.denyIfRevoked({ digest: candidate.digest }));
      // One publish per (destination, digest, tag): the first decision stands, nothing is signed again.
      const existing = await step('findPublished', () => io.findPublished(publicationOf(request)));
      if (existing?.published) {
        const result = alreadyPublishedResult({ ...existing, published: existing.published }, candidate);
        progress.result = result;
        progress.decisionId = existing._id;
        setStatus('Published');
        return result;
      }
    }

    await step('pinCandidate', () => io.pinCandidate(candidate));

    setStatus('FetchingAttestations');
    const evidence = await step('collectEvidence', () =>
      longIo.collectEvidence({ candidate, inline: request.attestations ?? [] }),
    );
    const { facts } = evidence;
    const found = [
      ...(facts.builderId ? [{ key: sa.BuilderId, value: facts.builderId }] : []),
      ...(facts.sourceRepo ? [{ key: sa.SourceRepo, value: facts.sourceRepo }] : []),
    ];
    // An empty upsert is an invalid command that would fail the workflow task.
    if (found.length > 0) upsertSearchAttributes(found);

    setStatus('Verifying');
    const resolution = await step('resolveLevels', () => resolveLevels(facts, setStatus));
    const levels = resolution.levels;

    setStatus('Evaluating');
    const decidedAt = new Date().toISOString();
    const evaluated = await step('evaluatePolicy', () =>
      io.evaluatePolicy({
        candidate,
        attestationDigests: evidence.digests,
        // What collectEvidence verified is what is evaluated: no signature is checked twice.
        evidence: {
          rejected: evidence.rejected,
          trustDigest: evidence.trustDigest,
          verifySeconds: evidence.verifySeconds,
          ...(evidence.verified ? { verified: evidence.verified } : {}),
        },
        levels,
        now: decidedAt,
        release: {
          repository: `${request.releaseRegistry}/${request.releaseRepository}`,
          ...((request.releaseTag ?? candidate.tag) ? { tag: request.releaseTag ?? candidate.tag } : {}),
        },
        // What the verified requester may publish is judged against the verified provenance.
        ...(admitted?.requester
          ? {
              requester: {
                id: admitted.requester.id,
                ...(admitted.requester.mayPublish ? { mayPublish: admitted.requester.mayPublish } : {}),
              },
            }
          : {}),
      }),
    );
    const { evaluation, policyDigest, policyVersion } = evaluated;
    progress.outcome = evaluation.outcome;
    progress.checks = evaluation.checks;
    rejected = evaluation.rejected ?? [];

    const decisionBase = {
      ...context(),
      requester: request.requester,
      evaluation,
      policyDigest,
      ...(policyVersion ? { policyVersion } : {}),
      attestationDigests: evidence.digests,
      facts,
      decidedAt,
      timings: { ...timings },
      ...(admitted
        ? admitted.requester
          ? { verifiedRequester: admitted.requester }
          : {}
        : request.requesterIdentity
          ? {
              requesterIdentity: request.requesterIdentity,
              requestedAt: workflowInfo().startTime.toISOString(),
            }
          : {}),
    };
    // No publish without an archived decision: the decision is stored before anything else happens.
    const recorded = await step('recordDecision', () => io.recordDecision(decisionBase));
    requester = recorded?.requester;
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
      deadlineMs = Date.now() + evaluated.approval.deadlineSeconds * 1000;
      quorum = quorumOf(evaluated.approval);
      progress.approvalDeadline = new Date(deadlineMs).toISOString();
      progress.approvals = { required: quorum.required, given: [] };
      // Written with the status, in the same workflow task: a client that sees AwaitingApproval
      // reads the deadline, the quorum and the digest a verdict's seal binds from the run's
      // description, without a Query to a worker (docs/security-model.md#waiting-for-a-publish).
      if (patched('approval-memo'))
        upsertMemo({
          approvalDeadline: progress.approvalDeadline,
          approvalsRequired: quorum.required,
          ...(admitted ? { requestDigest: admitted.requestDigest } : {}),
        } satisfies PublishMemo);
      setStatus('AwaitingApproval');
      approvalOpen = true;
      const waitStarted = Date.now();
      // Each verdict is checked (who sent it, group, distinct, not the requester) by
      // recordApproval before it counts; a refused one fails its Update and the wait goes on
      // until the quorum approves, one counted verdict rejects, or the deadline passes.
      while (!verdict) {
        const remaining = deadlineMs - Date.now();
        const answered = remaining > 0 && (await condition(() => pending.length > 0, remaining));
        const next = answered ? pending.shift() : undefined;
        if (!next) break;
        if (next.atMs >= deadlineMs) {
          next.refused = { code: 'APPROVAL_EXPIRED', message: 'the approval deadline has passed' };
          break;
        }
        try {
          const recordedVerdict = await io.recordApproval({
            decisionId,
            ...next.approval,
            verdict: next.kind,
            at: next.at,
            workflowId: workflowInfo().workflowId,
            runId: workflowInfo().runId,
            ...(admitted ? { requestDigest: admitted.requestDigest } : {}),
            ...(requester ? { requester } : {}),
            quorum,
            given: givenSoFar(),
          });
          const shown: Verdict = {
            approver: recordedVerdict?.approver ?? next.approval.approver,
            reason: next.approval.reason,
            verdict: next.kind,
            at: next.at,
            ...(recordedVerdict?.verified === undefined ? {} : { verified: recordedVerdict.verified }),
            ...(recordedVerdict?.group ? { group: recordedVerdict.group } : {}),
          };
          counted.push({
            shown,
            ...(recordedVerdict?.identity ? { identity: recordedVerdict.identity } : {}),
          });
          progress.approvals = { required: quorum.required, given: counted.map((c) => c.shown) };
          // A reject is final for this run; approvals decide once the quorum is complete.
          const approvals = counted.filter((c) => c.shown.verdict === 'approve').length;
          if (next.kind === 'reject' || approvals >= quorum.required) verdict = shown;
          next.accepted = true;
        } catch (err) {
          const cause = err instanceof ActivityFailure ? err.cause : undefined;
          if (!(cause instanceof ApplicationFailure && cause.type === 'APPROVER_NOT_ALLOWED')) throw err;
          next.refused = { code: cause.type, message: cause.message };
        }
      }
      approvalOpen = false;
      for (const late of pending.splice(0))
        late.refused = verdict
          ? { code: 'INPUT_INVALID', message: 'this publish is no longer awaiting approval' }
          : { code: 'APPROVAL_EXPIRED', message: 'the approval deadline has passed' };
      stepEnded(
        'awaitApproval',
        !verdict ? 'APPROVAL_EXPIRED' : verdict.verdict === 'reject' ? 'APPROVAL_REJECTED' : 'ok',
        Date.now() - waitStarted,
        laterTimings,
      );
      if (!verdict) {
        await io.transitionDecision({ decisionId, from: 'awaiting-approval', to: 'expired' });
        return await deny(
          'NEEDS_APPROVAL',
          'APPROVAL_EXPIRED',
          'no approval before the deadline',
          evaluation.checks,
          policyDigest,
        );
      }
      if (verdict.verdict === 'reject') {
        await io.transitionDecision({
          decisionId,
          from: 'awaiting-approval',
          to: 'rejected',
          by: verdict.approver,
        });
        return await deny(
          'NEEDS_APPROVAL',
          'APPROVAL_REJECTED',
          verdict.reason,
          evaluation.checks,
          policyDigest,
        );
      }
      await io.transitionDecision({
        decisionId,
        from: 'awaiting-approval',
        to: 'approved',
        by: verdict.approver,
      });
    }

    // Revoked while this run was evaluated or awaited approval: denied before the copy.
    if (patched(REVOCATION_PATCH))
      await step('denyIfRevoked', () => io.denyIfRevoked({ digest: candidate.digest }), laterTimings);

    // Once the copy starts it finishes: a cancellation now would leave a half-published image.
    return await CancellationScope.nonCancellable(async () => {
      setStatus('Publishing');
      const publisher = PUBLISHERS[kind] ?? 'publishImage';
      const published = await step(
        publisher,
        () =>
          longIo[publisher]({
            candidate,
            releaseRegistry: request.releaseRegistry,
            releaseRepository: request.releaseRepository,
            releaseTag: request.releaseTag ?? candidate.tag,
          }),
        laterTimings,
      );
      const vsa = await step(
        'attachVsa',
        () =>
          io.attachVsa({
            decisionId,
            candidate,
            releaseRegistry: request.releaseRegistry,
            releaseRepository: request.releaseRepository,
            evaluation,
            policyDigest,
            attestationDigests: evidence.digests,
            dependencyLevels: resolution.dependencyLevels,
            decidedAt,
          }),
        laterTimings,
      );
      const publishedTimings = { ...laterTimings };
      await step(
        'markPublished',
        () =>
          io.markPublished({
            decisionId,
            repository: `${request.releaseRegistry}/${request.releaseRepository}`,
            digest: published.digest,
            ...(published.tag ? { tag: published.tag } : {}),
            vsaDigest: vsa.vsaDigest,
            at: new Date().toISOString(),
            timings: publishedTimings,
          }),
        laterTimings,
      );
      // A revocation recorded while the copy ran saw no release here to revoke: this run
      // revokes its own release (FAILED VSA, tag moved) and answers REVOKED, not PUBLISHED.
      if (patched('revoke-release-after-copy')) {
        const revoked = await io.revokeReleaseIfRevoked({
          digest: published.digest,
          repository: `${request.releaseRegistry}/${request.releaseRepository}`,
          decisionId,
          ...(published.tag ? { tag: published.tag } : {}),
        });
        if (revoked) return await deny('FAILED', 'REVOKED', revoked.reason, evaluation.checks, policyDigest);
      }

      const result: PublishResult = {
        status: 'PUBLISHED',
        decisionId,
        outcome: evaluation.outcome,
        candidate,
        reason: verdict
          ? `approved by ${counted.map((c) => c.shown.approver).join(', ')}: ${verdict.reason}`
          : 'every check passed',
        checks: evaluation.checks,
        policyDigest,
        ...(policyVersion ? { policyVersion } : {}),
        published: { reference: published.reference, digest: published.digest, vsaDigest: vsa.vsaDigest },
        ...verdictFields(),
      };
      progress.result = result;
      setStatus('Published');
      return result;
    });
  } catch (err) {
    // A cancelled run records that it was cancelled, everywhere, then ends cancelled.
    if (isCancellation(err)) {
      approvalOpen = false;
      await CancellationScope.nonCancellable(() =>
        io.recordCancellation({
          ...context(),
          reason: 'the workflow was cancelled',
          at: new Date().toISOString(),
        }),
      );
      for (const late of pending.splice(0))
        late.refused = { code: 'CANCELLED', message: 'the publish was cancelled' };
      progress.result = {
        status: 'CANCELLED',
        decisionId,
        outcome: progress.outcome ?? 'FAILED',
        candidate,
        code: 'CANCELLED',
        reason: 'the workflow was cancelled',
        checks: progress.checks,
      };
      setStatus('Cancelled');
      throw err;
    }
    // A coded, non-retryable activity failure is a denial: archive it and close, never loop.
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.nonRetryable && cause.type) {
      log.warn('publish denied by a non-retryable failure', { type: cause.type, message: cause.message });
      return await denyCoded(cause.type, cause.message);
    }
    throw err;
  }
}

/**
 * Where a publish stands, and waiting for it to move, from Temporal's server and the archive
 * alone: the run's description (its `PublishStatus` search attribute and its memo), its result
 * in the history, the archived decision and approvals. No Query: a Query is a round trip through
 * Temporal to a worker, and a client that waits would make one after another
 * (docs/security-model.md#waiting-for-a-publish). The API's `?wait=` and the CLI's `status` and
 * `publish --wait` read and wait through here.
 */
import {
  isGrpcCancelledError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { Archive } from '../archive/archive.ts';
import {
  PublishMemoSchema,
  PublishStatusSchema,
  type PublishMemo,
  type PublishProgress,
  type PublishResult,
  type PublishStatus,
} from '../workflows/contract.ts';
import type { publishArtifact } from '../workflows/publish-artifact.ts';
import * as sa from '../workflows/search-attributes.ts';

/** The workflow type of a publish (src/workflows/publish-artifact.ts). */
export const PUBLISH_WORKFLOW_TYPE = 'publishArtifact';

/** Runs one Temporal call within the caller's time bound, naming `what` did not answer. */
export type Within = <T>(what: string, call: () => Promise<T>) => Promise<T>;

/** What a publish's progress is read from besides Temporal: the archived decision and approvals. */
export type ProgressArchive = Pick<Archive, 'getDecision' | 'listApprovals'>;

/** A publish run as a client sees it: its progress, or how it closed without a result. */
export type PublishRun =
  | { runId: string; taskQueue: string; memo: PublishMemo; progress: PublishProgress }
  | { runId: string; taskQueue: string; memo: PublishMemo; closed: string };

/** A closed run's progress, from its result. */
export function progressOfResult(result: PublishResult): PublishProgress {
  return {
    status:
      result.status === 'PUBLISHED' ? 'Published' : result.status === 'CANCELLED' ? 'Cancelled' : 'Denied',
    outcome: result.outcome,
    checks: result.checks,
    decisionId: result.decisionId,
    result,
  };
}

/**
 * The publish behind `workflowId` (its latest run, or the run `runId`), undefined when there is
 * none or the workflow is not a publish
 * (a drift-monitor run, a revocation): a completed run's progress from its result in the history,
 * a running one's from its description and the archive; a run that closed without a result
 * (cancelled, terminated, timed out, failed) names its state.
 */
export async function readPublishRun(
  client: Client,
  archive: ProgressArchive,
  workflowId: string,
  within: Within,
  runId?: string,
): Promise<PublishRun | undefined> {
  const handle = client.workflow.getHandle<typeof publishArtifact>(workflowId, runId);
  let described: WorkflowExecutionDescription;
  try {
    described = await within(`reading workflow ${workflowId}`, () => handle.describe());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (described.type !== PUBLISH_WORKFLOW_TYPE) return undefined;
  const { taskQueue } = described;
  const memo = PublishMemoSchema.safeParse(described.memo ?? {}).data ?? {};
  const state = described.status.name;
  if (state === 'COMPLETED') {
    const result = await within(`reading the result of ${workflowId}`, () =>
      client.workflow.getHandle<typeof publishArtifact>(workflowId, described.runId).result(),
    );
    return { runId: described.runId, taskQueue, memo, progress: progressOfResult(result) };
  }
  if (state !== 'RUNNING') return { runId: described.runId, taskQueue, memo, closed: state };
  return {
    runId: described.runId,
    taskQueue,
    memo,
    progress: await runningProgress(archive, described, memo),
  };
}

/**
 * A running publish's progress: the status the workflow upserted with every step, the checks and
 * outcome once the decision is archived (it is archived before anything else happens), and while
 * it awaits approval the memo's deadline and quorum with the approvals archived so far.
 */
async function runningProgress(
  archive: ProgressArchive,
  described: WorkflowExecutionDescription,
  memo: PublishMemo,
): Promise<PublishProgress> {
  const status =
    PublishStatusSchema.safeParse(described.typedSearchAttributes.get(sa.PublishStatus)).data ?? 'Resolving';
  // The workflow's decision id (src/workflows/publish-artifact.ts).
  const decisionId = `${described.workflowId}/${described.runId}`;
  const decision = await archive.getDecision(decisionId);
  const approvals =
    decision && memo.approvalsRequired !== undefined
      ? {
          required: memo.approvalsRequired,
          given: (await archive.listApprovals(decisionId)).map((a) => ({
            approver: a.approver,
            reason: a.reason,
            verdict: a.verdict,
            at: a.at,
            ...(a.verified === undefined ? {} : { verified: a.verified }),
            ...(a.group ? { group: a.group } : {}),
          })),
        }
      : undefined;
  return {
    status,
    checks: (decision?.checks ?? []).map((c) => ({ ...c, evidence: c.evidence ?? [] })),
    ...(decision ? { outcome: decision.outcome, decisionId } : {}),
    ...(memo.requestDigest ? { requestDigest: memo.requestDigest } : {}),
    ...(memo.approvalDeadline ? { approvalDeadline: memo.approvalDeadline } : {}),
    ...(approvals ? { approvals } : {}),
  };
}

/**
 * Waits until the run `runId` of `workflowId` has ended or, with `since`, its status is no longer
 * `since`; returns at once when `signal` aborts (the wait is over, not the run). Both are
 * Temporal's long polls on the run's history, answered by the server alone: without `since` the
 * client's `result()` (the close event), with it every new event, reading the status from the
 * search attributes the workflow upserts with each step.
 */
export async function waitForPublish(
  client: Client,
  workflowId: string,
  runId: string,
  since: PublishStatus | undefined,
  signal: AbortSignal,
): Promise<void> {
  try {
    await client.withAbortSignal(signal, () =>
      since === undefined
        ? client.workflow.getHandle(workflowId, runId).result()
        : statusChange(client, workflowId, runId, since),
    );
  } catch (err) {
    // Ended without a result (cancelled, terminated): the caller reads how from the description.
    if (err instanceof WorkflowFailedError) return;
    if (signal.aborted && isGrpcCancelledError(err)) return;
    throw err;
  }
}

/** Follows the run's history as it grows until its status is no longer `since` or it closed. */
async function statusChange(
  client: Client,
  workflowId: string,
  runId: string,
  since: PublishStatus,
): Promise<void> {
  const request: Parameters<Client['workflowService']['getWorkflowExecutionHistory']>[0] = {
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    // With the page token of the last answer, the server holds the call until a new event.
    waitNewEvent: true,
    skipArchival: true,
  };
  let status: string | undefined;
  for (;;) {
    const answer = await client.workflowService.getWorkflowExecutionHistory(request);
    for (const event of answer.history?.events ?? []) {
      const attributes =
        event.workflowExecutionStartedEventAttributes?.searchAttributes ??
        event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes;
      const upserted = attributes?.indexedFields?.[sa.PublishStatus.name];
      if (upserted) status = defaultPayloadConverter.fromPayload<string>(upserted as Payload);
    }
    // No page token: the whole history of a closed run has been read.
    if (!answer.nextPageToken?.length) return;
    if (status !== undefined && status !== since) return;
    request.nextPageToken = answer.nextPageToken;
  }
}

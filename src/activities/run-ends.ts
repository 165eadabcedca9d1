/**
 * The reaper's activities: a publish run terminated or timed out in Temporal runs no workflow
 * code, so nothing in it archives its end. These find such runs through Temporal's visibility
 * and archive the end from the run's own history: who terminated it, why, and when.
 */
import { Context } from '@temporalio/activity';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { GateError } from '../core/errors.ts';
import { PublishRequestSchema } from '../workflows/contract.ts';
import { archiveRunEnd, type RunEnd } from './decision.ts';
import type { ActivityDeps } from './deps.ts';
import { isFinalStatus } from '../archive/lifecycle.ts';

/** A closed publish run that has no archived end yet. */
export interface UnendedRun {
  workflowId: string;
  runId: string;
}

/** Runs one listing looks at, at most: the rest wait for the next scheduled run. */
const MAX_SCANNED = 10_000;
/**
 * Free text Temporal keeps (a termination reason, a client identity) is whatever the
 * terminating client sent: bounded, and without control characters that would reach an
 * auditor's terminal, before it is archived.
 */
const MAX_TEXT = 1024;

/** A task queue name as it may stand quoted in a visibility query. */
const TASK_QUEUE = /^[A-Za-z0-9._:/-]{1,255}$/;

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

function bounded(text: string | null | undefined): string {
  return (text ?? '').slice(0, MAX_TEXT).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * The end of a run that closed as TERMINATED or TIMED_OUT, from its close event: who ended it
 * (the identity the terminating client gave Temporal), why and when. Undefined for any other
 * close. The identity and the reason are whatever the terminating client sent: they name who
 * used the namespace as Temporal recorded it, not a verified person (docs/security-model.md).
 */
export function runEndOf(
  description: Pick<WorkflowExecutionDescription, 'status' | 'closeTime'>,
  closeEvent: HistoryEvent | undefined,
): RunEnd | undefined {
  const at = (description.closeTime ?? new Date(0)).toISOString();
  const terminated = closeEvent?.workflowExecutionTerminatedEventAttributes;
  if (description.status.name === 'TERMINATED' && terminated) {
    const identity = bounded(terminated.identity) || 'unknown client';
    const reason = bounded(terminated.reason);
    return {
      status: 'terminated',
      code: 'TERMINATED',
      reason: `terminated in Temporal by ${identity}${reason ? `: ${reason}` : ''}`,
      by: `temporal:${identity}`,
      at,
      data: { identity, reason },
    };
  }
  if (description.status.name === 'TIMED_OUT' && closeEvent?.workflowExecutionTimedOutEventAttributes) {
    return {
      status: 'timed-out',
      code: 'TIMED_OUT',
      reason: 'the run reached its Temporal execution timeout',
      by: 'temporal (execution timeout)',
      at,
      data: {},
    };
  }
  return undefined;
}

export function createRunEndActivities(deps: ActivityDeps) {
  return {
    /**
     * Publish runs of `taskQueue` closed as TERMINATED or TIMED_OUT since `closedAfter`
     * whose decision is missing or still open, at most `limit`. Visibility finds the runs; the
     * archive is read by each run's decision id.
     */
    async listUnendedRuns(input: {
      taskQueue: string;
      closedAfter: string;
      limit: number;
    }): Promise<{ runs: UnendedRun[]; scanned: number; truncated: boolean }> {
      if (!TASK_QUEUE.test(input.taskQueue))
        throw new GateError(
          'INPUT_INVALID',
          `task queue ${JSON.stringify(input.taskQueue)}: not a plain name`,
        );
      const closedAfter = new Date(input.closedAfter);
      if (Number.isNaN(closedAfter.getTime()))
        throw new GateError('INPUT_INVALID', `closedAfter ${JSON.stringify(input.closedAfter)}: not a time`);
      const query =
        `WorkflowType = 'publishArtifact' AND TaskQueue = '${input.taskQueue}'` +
        ` AND ExecutionStatus IN ('Terminated', 'TimedOut') AND CloseTime >= '${closedAfter.toISOString()}'`;
      const context = Context.current();
      const runs: UnendedRun[] = [];
      let scanned = 0;
      for await (const run of context.client.workflow.list({ query, pageSize: 100 })) {
        if (scanned >= MAX_SCANNED || runs.length >= input.limit) return { runs, scanned, truncated: true };
        scanned++;
        context.heartbeat({ scanned });
        const decision = await deps.archive.getDecision(`${run.workflowId}/${run.runId}`);
        if (!decision || !isFinalStatus(decision.status))
          runs.push({ workflowId: run.workflowId, runId: run.runId });
      }
      return { runs, scanned, truncated: false };
    },

    /**
     * Archives the end of one closed run from its history: the decision it left open moves to
     * `terminated` or `timed-out` (a FAILED decision with that code when it had none), with
     * who and when. Nothing happens to a run that is still open, closed otherwise, or whose
     * end is archived already.
     */
    async archiveRunEnd(input: UnendedRun): Promise<{ archived: boolean; status?: string }> {
      const handle = Context.current().client.workflow.getHandle(input.workflowId, input.runId);
      const description = await handle.describe();
      if (description.type !== 'publishArtifact') return { archived: false };
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const end = runEndOf(description, events[events.length - 1]);
      if (!end) return { archived: false };
      const payload = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const converter = Context.current().client.options.loadedDataConverter.payloadConverter;
      const request = PublishRequestSchema.safeParse(payload ? converter.fromPayload(payload) : undefined);
      // The request is what the run was asked to publish; without it there is no artifact to archive.
      if (!request.success)
        throw new GateError(
          'INPUT_INVALID',
          `run ${input.workflowId}/${input.runId}: its request is not a publish request, so its end cannot be archived`,
        );
      const { candidate, releaseRegistry, releaseRepository, requester } = request.data;
      const ended = await archiveRunEnd(
        deps,
        {
          decisionId: `${input.workflowId}/${input.runId}`,
          workflowId: input.workflowId,
          runId: input.runId,
          candidate,
          releaseRepository: `${releaseRegistry}/${releaseRepository}`,
          requester: requester.slice(0, 256),
        },
        end,
      );
      return { archived: ended.archived, status: ended.status };
    },
  };
}

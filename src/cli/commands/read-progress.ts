import { boundedLine, GateError, isGateError } from '../../core/errors.ts';
import type { TemporalClientSession } from '../../config/temporal-client.ts';
import type { PublishProgress, PublishResult } from '../../workflows/contract.ts';
import { progressQuery } from '../../workflows/definitions.ts';
import type { publishArtifact } from '../../workflows/publish-artifact.ts';

/** How long the CLI waits for Temporal, or the worker behind a query, by default. */
export const DEFAULT_QUERY_SECONDS = 10;

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

/** What the CLI knows of a publish run. */
export interface RunProgress {
  progress: PublishProgress;
  runId: string;
  taskQueue: string;
}

/**
 * A publish's progress as the CLI reads it, every call within `seconds`: a completed run's from
 * its result in the history (no worker needed), a running one's from the worker through the
 * progress query (TEMPORAL_UNAVAILABLE when no worker answers in time). A run that ended
 * without a result is CANCELLED (cancelled or terminated), TIMED_OUT, or INTERNAL_ERROR (failed).
 */
export async function readProgress(
  session: TemporalClientSession,
  workflowId: string,
  seconds: number,
): Promise<RunProgress> {
  const handle = session.client.workflow.getHandle<typeof publishArtifact>(workflowId);
  const described = await session.within(seconds, `reading workflow ${workflowId}`, () => handle.describe());
  const { runId, taskQueue } = described;
  const state = described.status.name;
  if (state === 'COMPLETED') {
    const result = await session.within(seconds, `reading the result of ${workflowId}`, () =>
      handle.result(),
    );
    return { progress: progressOfResult(result), runId, taskQueue };
  }
  if (state === 'RUNNING') {
    const what = `the progress of ${workflowId} (is a worker running on task queue ${taskQueue}?)`;
    const progress = await session
      .within(seconds, what, () => handle.query(progressQuery))
      .catch((err: unknown) => {
        // Only a worker answers a query: whatever Temporal says instead, no worker answered.
        if (isGateError(err)) throw err;
        const message = err instanceof Error ? err.message : String(err);
        throw new GateError('TEMPORAL_UNAVAILABLE', `${what}: ${boundedLine(message)}`);
      });
    return { progress, runId, taskQueue };
  }
  // Until the reaper has archived a termination, it is reported as CANCELLED (docs/security-model.md#how-a-run-ends).
  if (state === 'CANCELLED' || state === 'TERMINATED')
    throw new GateError('CANCELLED', `workflow ${workflowId} was ${state.toLowerCase()}`, {
      detail: { workflowId, runId },
    });
  throw new GateError(
    state === 'TIMED_OUT' ? 'TIMED_OUT' : 'INTERNAL_ERROR',
    `workflow ${workflowId} is ${state}`,
    { detail: { workflowId, runId } },
  );
}

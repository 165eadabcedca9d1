import { ActivityFailure, ApplicationFailure, log, workflowInfo } from '@temporalio/workflow';
import { scheduledActivities as io } from './scheduled-activities.ts';

/** Runs one reaper run archives, at most; more wait for the next scheduled run. */
const MAX_RUNS = 500;
/** How far back a reaper run looks by default: a week covers a stopped schedule or worker. */
const DEFAULT_LOOKBACK_HOURS = 24 * 7;

/** What the reaper looks at: publish runs of `taskQueue` (default its own) closed in the last `lookbackHours`. */
export interface ReapRunEndsInput {
  taskQueue?: string;
  lookbackHours?: number;
}

export interface ReapRunEndsResult {
  /** Closed runs visibility listed as terminated or timed out. */
  scanned: number;
  /** Runs whose end this run archived, with the status archived. */
  archived: Array<{ workflowId: string; runId: string; status: string }>;
  /** Runs whose end could not be archived, with the code; they are tried again next time. */
  failed: Array<{ workflowId: string; runId: string; code: string }>;
  truncated: boolean;
}

/**
 * The reaper, run by a Temporal Schedule: every publish run that closed as TERMINATED or
 * TIMED_OUT without an archived end gets one (docs/security-model.md#how-a-run-ends). Ends
 * already archived are left alone, so running it again archives nothing new.
 */
export async function reapRunEnds(input: ReapRunEndsInput = {}): Promise<ReapRunEndsResult> {
  const hours = input.lookbackHours ?? DEFAULT_LOOKBACK_HOURS;
  // Workflow time is the task's start time: deterministic on replay.
  const closedAfter = new Date(Date.now() - hours * 3_600_000).toISOString();
  const listed = await io.listUnendedRuns({
    taskQueue: input.taskQueue ?? workflowInfo().taskQueue,
    closedAfter,
    limit: MAX_RUNS,
  });
  const result: ReapRunEndsResult = {
    scanned: listed.scanned,
    archived: [],
    failed: [],
    truncated: listed.truncated,
  };
  for (const run of listed.runs) {
    try {
      const ended = await io.archiveRunEnd(run);
      if (ended.archived && ended.status) result.archived.push({ ...run, status: ended.status });
    } catch (err) {
      // One run that cannot be archived does not stop the others; it is listed again next time.
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const code = cause instanceof ApplicationFailure && cause.type ? cause.type : 'UNKNOWN';
      log.warn('run end not archived', { ...run, code });
      result.failed.push({ ...run, code });
    }
  }
  return result;
}

import type { Archive } from '../../archive/archive.ts';
import { GateError } from '../../core/errors.ts';
import type { Config } from '../../config/config.ts';
import { connectArchive } from '../../config/mongo-options.ts';
import type { TemporalClientSession } from '../../config/temporal-client.ts';
import { readPublishRun, type ProgressArchive } from '../../config/publish-progress.ts';
import type { PublishProgress } from '../../workflows/contract.ts';

/** How long the CLI waits for Temporal to answer one call, by default. */
export const DEFAULT_QUERY_SECONDS = 10;

/**
 * The archive for a running publish's decision, connected on first use: a finished run's
 * progress is its result in Temporal's history and needs no store.
 */
export function archiveOnFirstUse(
  config: Pick<Config, 'mongoUri' | 'database' | 'mongoTlsCAFile'>,
): ProgressArchive & { close(): Promise<void> } {
  let opened: Promise<Archive> | undefined;
  const archive = () =>
    (opened ??= connectArchive(config, { serverSelectionTimeoutMS: 5000, createIndexes: false }));
  return {
    getDecision: async (decisionId) => (await archive()).getDecision(decisionId),
    listApprovals: async (decisionId) => (await archive()).listApprovals(decisionId),
    // One that failed to connect has nothing to close; its failure was already reported.
    close: async () => (await opened?.catch(() => undefined))?.close(),
  };
}

/** What the CLI knows of a publish run. */
export interface RunProgress {
  progress: PublishProgress;
  runId: string;
  taskQueue: string;
}

/**
 * A publish's progress as the CLI reads it (the latest run of `workflowId`, or the run `runId`),
 * every Temporal call within `seconds`: a completed
 * run's from its result in the history, a running one's from its description and the archive
 * (config/publish-progress.ts; no worker needed). A run that ended without a result is CANCELLED
 * (cancelled or terminated), TIMED_OUT, or INTERNAL_ERROR (failed).
 */
export async function readProgress(
  session: TemporalClientSession,
  archive: ProgressArchive,
  workflowId: string,
  seconds: number,
  runId?: string,
): Promise<RunProgress> {
  const run = await readPublishRun(
    session.client,
    archive,
    workflowId,
    (what, call) => session.within(seconds, what, call),
    runId,
  );
  if (!run) throw new GateError('NOT_FOUND', `no publish ${workflowId}`, { detail: { workflowId } });
  const { taskQueue } = run;
  if ('progress' in run) return { progress: run.progress, runId: run.runId, taskQueue };
  // Until the reaper has archived a termination, it is reported as CANCELLED (docs/security-model.md#how-a-run-ends).
  if (run.closed === 'CANCELLED' || run.closed === 'TERMINATED')
    throw new GateError('CANCELLED', `workflow ${workflowId} was ${run.closed.toLowerCase()}`, {
      detail: { workflowId, runId: run.runId },
    });
  throw new GateError(
    run.closed === 'TIMED_OUT' ? 'TIMED_OUT' : 'INTERNAL_ERROR',
    `workflow ${workflowId} is ${run.closed}`,
    { detail: { workflowId, runId: run.runId } },
  );
}

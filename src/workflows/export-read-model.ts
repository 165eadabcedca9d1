import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ReadModelExportResult } from '../activities/read-model-export.ts';

/**
 * The export as the schedule runs it: a first run (or a rebuild's) reads the whole archive,
 * so it gets an hour; a failed run is tried again a few times, then the next scheduled run
 * picks up where the last finished one left off (the export is idempotent by row key). The
 * run heartbeats: a worker that dies mid-run is noticed within the heartbeat timeout, not the
 * hour, so the schedule's next run (no overlap) is not held back by a dead one.
 */
const io = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

/**
 * Brings the audit read model up to date with the archive, run by a Temporal Schedule every
 * few seconds (docs/audit.md#keeping-it-fresh): each archived decision reaches the model the
 * API serves within one interval plus one run.
 */
export async function exportReadModel(): Promise<ReadModelExportResult> {
  return io.exportReadModel();
}

import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { installIntervalSchedule } from './interval-schedule.ts';

/** The id of the read model export's schedule: one per namespace and task queue. */
export function readModelScheduleId(taskQueue: string): string {
  return `slsa-gate-export-read-model:${taskQueue}`;
}

/** The interval of the export schedule a worker creates at start (docs/audit.md#keeping-it-fresh). */
export const DEFAULT_EXPORT_EVERY = '5s';

/**
 * Creates the Temporal Schedule that runs `exportReadModel` every `every` (e.g. `5s`) on the
 * worker's task queue, or, when it exists, updates it (`existing: 'update'`, `audit export
 * --schedule`) or keeps it as it is (`'keep'`, a worker starting). A run still going when the
 * next is due is not overlapped, so two exports never write the directory at once.
 */
export async function installReadModelSchedule(
  client: Client,
  opts: { taskQueue: string; every: Duration; scheduleId?: string; existing?: 'update' | 'keep' },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? readModelScheduleId(opts.taskQueue);
  return installIntervalSchedule(client, {
    scheduleId,
    workflowType: 'exportReadModel',
    workflowId: `export-read-model:${scheduleId}`,
    taskQueue: opts.taskQueue,
    every: opts.every,
    args: [],
    existing: opts.existing ?? 'update',
  });
}

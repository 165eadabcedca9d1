import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { installIntervalSchedule } from './interval-schedule.ts';

/** The id of the read model export's schedule: one per namespace and task queue. */
export function readModelScheduleId(taskQueue: string): string {
  return `slsa-gate-export-read-model:${taskQueue}`;
}

/**
 * Creates the Temporal Schedule that runs `exportReadModel` every `every` (e.g. `5s`) on the
 * worker's task queue, or updates it when it exists. A run still going when the next is due
 * is not overlapped, so two exports never write the directory at once.
 */
export async function installReadModelSchedule(
  client: Client,
  opts: { taskQueue: string; every: Duration; scheduleId?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? readModelScheduleId(opts.taskQueue);
  return installIntervalSchedule(client, {
    scheduleId,
    workflowType: 'exportReadModel',
    workflowId: `export-read-model:${scheduleId}`,
    taskQueue: opts.taskQueue,
    every: opts.every,
    args: [],
  });
}

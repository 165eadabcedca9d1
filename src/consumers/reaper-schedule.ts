import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { ReapRunEndsInput } from '../workflows/reap-run-ends.ts';
import { installIntervalSchedule } from './interval-schedule.ts';

/** The id of the reaper's schedule: one per namespace and task queue. */
export function reaperScheduleId(taskQueue: string): string {
  return `slsa-gate-reap-run-ends:${taskQueue}`;
}

/**
 * Creates the Temporal Schedule that runs `reapRunEnds` every `every` (e.g. `10m`) on the
 * worker's task queue, or updates it when it exists: publish runs terminated or timed out in
 * Temporal get their end archived (docs/operations.md#the-reaper).
 */
export async function installReaperSchedule(
  client: Client,
  opts: { taskQueue: string; every: Duration; input?: ReapRunEndsInput; scheduleId?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? reaperScheduleId(opts.taskQueue);
  return installIntervalSchedule(client, {
    scheduleId,
    workflowType: 'reapRunEnds',
    workflowId: `reap-run-ends:${scheduleId}`,
    taskQueue: opts.taskQueue,
    every: opts.every,
    args: [opts.input ?? {}],
  });
}

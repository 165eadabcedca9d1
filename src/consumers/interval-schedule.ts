import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';

/**
 * Creates the Temporal Schedule `scheduleId` that starts `workflowType` with `args` every
 * `every` (each run's id is `workflowId` plus the time Temporal appends), or, when it exists,
 * updates it to these settings (`existing: 'update'`, the default) or leaves it as it is
 * (`'keep'`: an operator's changes stand). A run still going when the next is due is not
 * overlapped (the default SKIP policy).
 */
export async function installIntervalSchedule(
  client: Client,
  opts: {
    scheduleId: string;
    workflowType: string;
    workflowId: string;
    taskQueue: string;
    every: Duration;
    args: unknown[];
    existing?: 'update' | 'keep';
  },
): Promise<{ scheduleId: string; created: boolean }> {
  const { scheduleId } = opts;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: opts.workflowType,
    taskQueue: opts.taskQueue,
    args: opts.args,
    workflowId: opts.workflowId,
  };
  const spec = { intervals: [{ every: opts.every }] };
  try {
    await client.schedule.create({ scheduleId, spec, action });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    if (opts.existing === 'keep') return { scheduleId, created: false };
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
    return { scheduleId, created: false };
  }
}

import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { MonitorReleasesInput } from '../workflows/monitor-releases.ts';

/** The id of the release monitor's schedule: one per namespace. */
export const MONITOR_SCHEDULE_ID = 'slsa-gate-monitor-releases';

/**
 * Creates the Temporal Schedule that runs `monitorReleases` every `every` (e.g. `1h`), or
 * updates it to these repositories and interval when it exists. A run still going when the
 * next is due is not overlapped (the default SKIP policy).
 */
export async function installMonitorSchedule(
  client: Client,
  opts: { taskQueue: string; every: Duration; input: MonitorReleasesInput; scheduleId?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? MONITOR_SCHEDULE_ID;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'monitorReleases',
    taskQueue: opts.taskQueue,
    args: [opts.input],
    workflowId: `monitor-releases:${scheduleId}`,
  };
  const spec = { intervals: [{ every: opts.every }] };
  try {
    await client.schedule.create({ scheduleId, spec, action });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
    return { scheduleId, created: false };
  }
}

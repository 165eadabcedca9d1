import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { MonitorReleasesInput } from '../workflows/monitor-releases.ts';
import { installIntervalSchedule } from './interval-schedule.ts';

/** The id of the release monitor's schedule: one per namespace. */
export const MONITOR_SCHEDULE_ID = 'slsa-gate-monitor-releases';

/**
 * Creates the Temporal Schedule that runs `monitorReleases` every `every` (e.g. `1h`), or
 * updates it to these repositories and interval when it exists.
 */
export async function installMonitorSchedule(
  client: Client,
  opts: { taskQueue: string; every: Duration; input: MonitorReleasesInput; scheduleId?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? MONITOR_SCHEDULE_ID;
  return installIntervalSchedule(client, {
    scheduleId,
    workflowType: 'monitorReleases',
    workflowId: `monitor-releases:${scheduleId}`,
    taskQueue: opts.taskQueue,
    every: opts.every,
    args: [opts.input],
  });
}

import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { GateError } from '../core/errors.ts';
import type { MonitorReleasesInput } from '../workflows/monitor-releases.ts';
import { installIntervalSchedule } from './interval-schedule.ts';

/** The id of the release monitor's schedule: one per namespace. */
export const MONITOR_SCHEDULE_ID = 'slsa-gate-monitor-releases';

/**
 * The search attributes a monitor run upserts (src/workflows/search-attributes.ts), with the
 * type each must be registered with (temporal.api.enums.v1.IndexedValueType: INT 3, KEYWORD_LIST 7).
 */
const MONITOR_SEARCH_ATTRIBUTES = [
  { name: 'DriftFindings', type: 'Int', indexedValueType: 3 },
  { name: 'DriftKinds', type: 'KeywordList', indexedValueType: 7 },
] as const;

/**
 * CONFIG_INVALID unless the client's namespace has the monitor's search attributes. A run
 * that upserts an attribute the namespace lacks fails its workflow task over and over: it
 * never ends, announces nothing, and the schedule skips every later run while it is still
 * going, so the monitor would go blind without a failed run to show for it
 * (docs/operations.md#the-drift-monitor).
 */
export async function assertMonitorSearchAttributes(client: Client): Promise<void> {
  const namespace = client.options.namespace;
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = MONITOR_SEARCH_ATTRIBUTES.filter(
    (a) => Number(customAttributes?.[a.name]) !== a.indexedValueType,
  );
  if (missing.length > 0) {
    const names = missing.map((a) => `${a.name} (${a.type})`).join(', ');
    const flags = missing.map((a) => `--name ${a.name} --type ${a.type}`).join(' ');
    throw new GateError(
      'CONFIG_INVALID',
      `Temporal namespace ${namespace} has no search attribute ${names}: a monitor run would never finish; ` +
        `register it first: temporal operator search-attribute create --namespace ${namespace} ${flags}`,
      { detail: { namespace, missing: missing.map((a) => a.name) } },
    );
  }
}

/**
 * Creates the Temporal Schedule that runs `monitorReleases` every `every` (e.g. `1h`), or
 * updates it to these repositories and interval when it exists; first checks that the
 * namespace has the search attributes its runs set (assertMonitorSearchAttributes).
 */
export async function installMonitorSchedule(
  client: Client,
  opts: { taskQueue: string; every: Duration; input: MonitorReleasesInput; scheduleId?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  await assertMonitorSearchAttributes(client);
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

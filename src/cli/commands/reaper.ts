import { parseArgs } from 'node:util';
import type { Duration } from '@temporalio/common';
import { GateError } from '../../core/errors.ts';
import type { Command } from './command.ts';

const INSTALL_USAGE = `Usage: slsa-gate reaper install [--every 10m] [--lookback-hours 168]

Creates (or updates) the Temporal Schedule that runs the reapRunEnds workflow on the worker's
task queue: every publish run of that queue that closed as terminated or timed out in the last
--lookback-hours without an archived end gets one (status terminated or timed-out, who
terminated it and why, from the run's history; slsa-gate audit list --status terminated).
Connection settings as for slsa-gate publish (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...).`;

function usageError(message: string): never {
  throw new GateError('INPUT_INVALID', `${message}\n\n${INSTALL_USAGE}`);
}

export const reaperInstallCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        every: { type: 'string', default: '10m' },
        'lookback-hours': { type: 'string', default: '168' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(INSTALL_USAGE);
      return 0;
    }
    if (!/^\d+(ms|s|m|h|d)$/.test(values.every)) usageError(`--every ${values.every}: e.g. 10m, 1h`);
    const lookbackHours = Number(values['lookback-hours']);
    if (!Number.isInteger(lookbackHours) || lookbackHours < 1 || lookbackHours > 24 * 90)
      usageError(`--lookback-hours ${values['lookback-hours']}: 1 to ${24 * 90}`);
    const [{ loadConfig }, { connectClient }, { installReaperSchedule }] = await Promise.all([
      import('../../config/config.ts'),
      import('../../config/temporal-client.ts'),
      import('../../consumers/reaper-schedule.ts'),
    ]);
    const config = loadConfig();
    const { client, close } = await connectClient(config);
    try {
      const installed = await installReaperSchedule(client, {
        taskQueue: config.taskQueue,
        every: values.every as Duration,
        input: { lookbackHours },
      });
      console.log(
        `${installed.created ? 'created' : 'updated'} schedule ${installed.scheduleId}: reapRunEnds every ${values.every} over runs of task queue ${config.taskQueue} closed in the last ${lookbackHours} h`,
      );
      return 0;
    } finally {
      await close();
    }
  },
};

import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import type { Duration } from '@temporalio/common';
import { terminalSafe } from '../terminal-safe.ts';
import type { Command } from './command.ts';
import type { DriftRecord } from '../../archive/drift-record.ts';

const INSTALL_USAGE = `Usage: slsa-gate monitor install --repository HOST/REPO [--repository HOST/REPO]... [--every 1h]

Creates (or updates) the Temporal Schedule that runs the monitorReleases workflow on the
worker's task queue: every release repository's tags are resolved and each tag naming a digest
this gate did not publish there, a tag moved off what the gate last published under it, a
published digest without a valid VSA, a revoked digest still served, a digest the gate refused
or revoked served by digest, and a repository that cannot be read is archived as a drift
finding (slsa-gate audit drift); each new one is announced to SLSA_GATE_DRIFT_WEBHOOK_URL.
A repository under a prefix of the worker's SLSA_GATE_MIRRORS is judged against the release
repository it copies (docs/consumers.md#mirrors).
Connection settings as for slsa-gate publish (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...).`;

const DRIFT_USAGE = `Usage: slsa-gate audit drift [--repository HOST/REPO] [--limit N] [--json]
         [--mongodb-uri URI] [--db NAME]

Lists the drift findings the release monitor archived, last seen first (default limit 50): each
standing finding once, with how many runs saw it and since when.`;

/** Where a finding is: `repo:tag digest`, `repo@digest` for a digest served untagged, or the repository and error code. */
function driftPlace(d: DriftRecord): string {
  if (d.tag !== undefined) return `${d.repository}:${d.tag}  ${d.digest ?? ''}`;
  return d.digest !== undefined ? `${d.repository}@${d.digest}` : `${d.repository}  ${d.code ?? ''}`;
}

function usageError(usage: string, message: string): never {
  throw new GateError('INPUT_INVALID', `${message}\n\n${usage}`);
}

export const monitorInstallCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        repository: { type: 'string', multiple: true },
        every: { type: 'string', default: '1h' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(INSTALL_USAGE);
      return 0;
    }
    const repositories = values.repository ?? [];
    if (repositories.length === 0) usageError(INSTALL_USAGE, 'give at least one --repository');
    if (!/^\d+(ms|s|m|h|d)$/.test(values.every))
      usageError(INSTALL_USAGE, `--every ${values.every}: e.g. 30m, 1h, 1d`);
    const [{ loadConfig }, { connectClient }, { parseRepository }, { installMonitorSchedule }] =
      await Promise.all([
        import('../../config/config.ts'),
        import('../../config/temporal-client.ts'),
        import('../../registry/reference.ts'),
        import('../../consumers/monitor-schedule.ts'),
      ]);
    for (const r of repositories) parseRepository(r);
    const config = loadConfig();
    const { client, close } = await connectClient(config);
    try {
      const installed = await installMonitorSchedule(client, {
        taskQueue: config.taskQueue,
        every: values.every as Duration,
        input: { repositories },
      });
      console.log(
        `${installed.created ? 'created' : 'updated'} schedule ${installed.scheduleId}: monitorReleases every ${values.every} over ${repositories.join(', ')}`,
      );
      return 0;
    } finally {
      await close();
    }
  },
};

export const auditDriftCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        repository: { type: 'string' },
        limit: { type: 'string', default: '50' },
        json: { type: 'boolean', default: false },
        'mongodb-uri': { type: 'string' },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(DRIFT_USAGE);
      return 0;
    }
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) usageError(DRIFT_USAGE, '--limit: 1 to 1000');
    const [{ loadArchiveSettings }, { connectArchive }] = await Promise.all([
      import('../../config/config.ts'),
      import('../../config/mongo-options.ts'),
    ]);
    const settings = loadArchiveSettings({ mongoUri: values['mongodb-uri'], database: values.db });
    const archive = await connectArchive(settings, { serverSelectionTimeoutMS: 5000, createIndexes: false });
    try {
      const drift = await archive.listDrift({
        limit,
        ...(values.repository ? { repository: values.repository } : {}),
      });
      if (values.json) console.log(JSON.stringify(drift, null, 2));
      else if (drift.length === 0) console.log('no drift events');
      else
        for (const d of drift)
          console.log(
            terminalSafe(
              `${d.at}  ${d.kind.padEnd(18)} ${driftPlace(d)}  x${d.count ?? 1} since ${d.firstSeen ?? d.at}${d.clearedAt ? ` gone since ${d.clearedAt}` : ''}  ${d.reason}`,
            ),
          );
      return 0;
    } finally {
      await archive.close();
    }
  },
};

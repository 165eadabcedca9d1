/**
 * `slsa-gate audit export --format parquet`, `audit sql` and `audit impact`: the read model
 * (src/audit/read-model) from the command line.
 */
import { parseArgs } from 'node:util';
import type { Duration } from '@temporalio/common';
import type { Archive } from '../../archive/archive.ts';
import { parseAuditTime } from '../../archive/audit-time.ts';
import { DecisionStatusSchema } from '../../archive/lifecycle.ts';
import { DEFAULT_OVERLAP_MS, exportParquet } from '../../audit/read-model/export-parquet.ts';
import { impactOf, type ImpactQuery } from '../../audit/read-model/impact.ts';
import { openReadModel, readOnlySql, type QueryResult } from '../../audit/read-model/read-model.ts';
import { DEFAULT_EXPORT_EVERY } from '../../consumers/read-model-schedule.ts';
import { GateError } from '../../core/errors.ts';
import type { Command } from './command.ts';

/** Writes the Parquet export; `withArchive` is the audit commands' connection helper. */
export async function runParquetExport(
  values: { out?: string; full?: boolean; rebuild?: boolean; 'overlap-hours'?: string },
  withArchive: <T>(use: (archive: Archive) => Promise<T>) => Promise<T>,
): Promise<number> {
  if (values.out === undefined)
    throw new GateError('INPUT_INVALID', 'audit export --format parquet needs --out DIR');
  const hours =
    values['overlap-hours'] === undefined ? DEFAULT_OVERLAP_MS / 3600_000 : Number(values['overlap-hours']);
  if (!Number.isFinite(hours) || hours < 0) {
    throw new GateError(
      'INPUT_INVALID',
      `--overlap-hours must be a non-negative number, not ${values['overlap-hours']}`,
    );
  }
  const out = values.out;
  return withArchive(async (archive) => {
    const report = await exportParquet(archive, out, {
      overlapMs: hours * 3600 * 1000,
      rebuild: values.full === true || values.rebuild === true,
    });
    const written = Object.entries(report.written)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    console.log(
      `exported to ${report.dir} in ${report.seconds.toFixed(1)} s (run ${report.state.runs}): ${written || 'nothing new'}`,
    );
    return 0;
  });
}

/**
 * `audit export --schedule [--every 5s]`: creates (or updates) the Temporal Schedule that runs
 * the export on the worker's task queue into the worker's SLSA_GATE_READ_MODEL.
 */
export async function installExportSchedule(values: { every?: string; out?: string }): Promise<number> {
  const every = values.every ?? DEFAULT_EXPORT_EVERY;
  if (!/^\d+(s|m|h)$/.test(every) || Number.parseInt(every, 10) < 1)
    throw new GateError('INPUT_INVALID', `--every ${every}: a duration such as 5s, 1m`);
  if (values.out !== undefined)
    throw new GateError(
      'INPUT_INVALID',
      "--schedule exports into the worker's SLSA_GATE_READ_MODEL, not --out: the worker decides where it writes",
    );
  const [{ loadConfig }, { connectClient }, { installReadModelSchedule }] = await Promise.all([
    import('../../config/config.ts'),
    import('../../config/temporal-client.ts'),
    import('../../consumers/read-model-schedule.ts'),
  ]);
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const installed = await installReadModelSchedule(client, {
      taskQueue: config.taskQueue,
      every: every as Duration,
    });
    console.log(
      `${installed.created ? 'created' : 'updated'} schedule ${installed.scheduleId}: exportReadModel every ${every} on task queue ${config.taskQueue}, into the workers' SLSA_GATE_READ_MODEL`,
    );
    return 0;
  } finally {
    await close();
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Prints a query result as an aligned table, JSON or CSV. */
export function printResult(result: QueryResult, format: 'table' | 'json' | 'csv'): void {
  if (format === 'json') {
    console.log(JSON.stringify(result.rows, null, 2));
    return;
  }
  const rows = result.rows.map((r) => result.columns.map((c) => cell(r[c])));
  if (format === 'csv') {
    console.log(result.columns.map(csvCell).join(','));
    for (const r of rows) console.log(r.map(csvCell).join(','));
    return;
  }
  const widths = result.columns.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log([line(result.columns.map((c) => c.toUpperCase())), ...rows.map(line)].join('\n'));
  console.log(`${rows.length} row(s)`);
}

const FORMAT_OPTIONS = {
  json: { type: 'boolean', default: false },
  csv: { type: 'boolean', default: false },
  dir: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function formatOf(values: { json?: boolean; csv?: boolean }): 'table' | 'json' | 'csv' {
  if (values.json && values.csv) throw new GateError('INPUT_INVALID', 'choose one of --json, --csv');
  return values.json ? 'json' : values.csv ? 'csv' : 'table';
}

function dirOf(values: { dir?: string }): string {
  const dir = values.dir ?? process.env.SLSA_GATE_READ_MODEL;
  if (!dir) throw new GateError('INPUT_INVALID', 'where is the export? --dir DIR (or SLSA_GATE_READ_MODEL)');
  return dir;
}

/** Prints how fresh the read model is, on stderr so that JSON and CSV stay clean. */
function freshness(exportedAt: string | undefined): void {
  console.error(exportedAt ? `read model as exported at ${exportedAt}` : 'read model: nothing exported yet');
}

export const auditSqlCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: FORMAT_OPTIONS });
    if (values.help) {
      console.log(`Usage: slsa-gate audit sql "SELECT …" --dir DIR [--json|--csv]
Runs one read-only SELECT with DuckDB over the Parquet tables of \`audit export --format parquet\`.
Tables: decisions, checks, source_refs, attestations, dependencies, vsas, approvals, exceptions,
events, policies; views: publications, decision_status, releases (docs/audit.md).`);
      return 0;
    }
    if (positionals.length !== 1)
      throw new GateError('INPUT_INVALID', 'usage: slsa-gate audit sql "SELECT …" --dir DIR');
    const format = formatOf(values);
    const model = await openReadModel(dirOf(values));
    try {
      freshness(model.state?.exportedAt);
      printResult(await readOnlySql(model, positionals[0]!), format);
      return 0;
    } finally {
      model.close();
    }
  },
};

export const auditImpactCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...FORMAT_OPTIONS,
        dependency: { type: 'string' },
        builder: { type: 'string' },
        source: { type: 'string' },
        signer: { type: 'string' },
        policy: { type: 'string' },
        status: { type: 'string', multiple: true },
        since: { type: 'string' },
        limit: { type: 'string', default: '100' },
        cursor: { type: 'string' },
        all: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(`Usage: slsa-gate audit impact --dependency <purl|uri>[@sha256:…] | --builder <id>[@version]
         | --source <repo>[@commit] | --signer <identity> | --policy <sha256:…>
         [--status S]... [--since TIME] [--limit N] [--cursor C | --all] --dir DIR [--json|--csv]
Lists the releases (default: --status published) that relied on it, directly or through
artifacts published here that they depend on, newest first: how many in all, and one page
(--limit, default 100; the next with --cursor, every page with --all). TIME: YYYY-MM-DD (the
start of that UTC day) or an ISO-8601 instant with offset (2026-11-30T10:00:00Z).`);
      return 0;
    }
    // `--status a,b` and `--status a --status b` both work.
    const status = values.status?.flatMap((s) => s.split(',')).map((s) => s.trim());
    for (const s of status ?? []) {
      if (!DecisionStatusSchema.safeParse(s).success) {
        throw new GateError(
          'INPUT_INVALID',
          `--status ${s}: one of ${DecisionStatusSchema.options.join(', ')}`,
        );
      }
    }
    const limit = Number(values.limit);
    if (!Number.isInteger(limit))
      throw new GateError('INPUT_INVALID', `--limit must be an integer, not ${values.limit}`);
    const since = values.since === undefined ? undefined : parseAuditTime('--since', values.since);
    const format = formatOf(values);
    const query: ImpactQuery = {
      ...(values.dependency ? { dependency: values.dependency } : {}),
      ...(values.builder ? { builder: values.builder } : {}),
      ...(values.source ? { source: values.source } : {}),
      ...(values.signer ? { signer: values.signer } : {}),
      ...(values.policy ? { policy: values.policy } : {}),
      ...(status ? { status: status as never } : {}),
      ...(since !== undefined ? { since } : {}),
    };
    const model = await openReadModel(dirOf(values));
    try {
      freshness(model.state?.exportedAt);
      let page = await impactOf(model, query, {
        limit,
        ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
      });
      const rows = [...page.rows];
      while (values.all && page.nextCursor !== undefined) {
        page = await impactOf(model, query, { limit, cursor: page.nextCursor });
        rows.push(...page.rows);
      }
      const { total, nextCursor } = page;
      if (format === 'json') {
        console.log(JSON.stringify({ total, rows, ...(nextCursor ? { nextCursor } : {}) }, null, 2));
        return 0;
      }
      printResult({ columns: page.columns, rows }, format);
      const more = nextCursor ? `; next page: --cursor ${nextCursor}` : '';
      // CSV stays rows only: the count and cursor go to stderr there.
      (format === 'csv' ? console.error : console.log)(`${total} affected release(s)${more}`);
      return 0;
    } finally {
      model.close();
    }
  },
};

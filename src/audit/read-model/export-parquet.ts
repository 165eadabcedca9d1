/**
 * `slsa-gate audit export --format parquet --out DIR`: writes the archive as the read model's
 * Parquet tables (tables.ts), partitioned by UTC day, incrementally.
 *
 * Incremental: `DIR/_export.json` keeps, per source collection, the newest time exported.
 * The next run reads only records from that time minus `overlapMs` on (records are stamped
 * by the worker shortly before they are written; the overlap covers a write that arrived
 * late, e.g. an activity retried while the store was down), and skips every row whose key a
 * Parquet file already holds, so a second run writes only what is new and a repeated run
 * writes nothing. A record stamped more than `overlapMs` before it was written is not
 * picked up by incremental runs; `--full` rewrites everything.
 *
 * Files are written to a staging directory and renamed into place one by one (a rename is
 * atomic), so a reader never sees half a file and a crashed run is completed by the next.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import * as z from 'zod';
import { EXPORT_TIME_FIELDS, type Archive, type ExportedCollection } from '../../archive/archive.ts';
import { GateError } from '../../core/errors.ts';
import { CONFIG_FILE_LIMIT_BYTES, readFileCapped } from '../../loaders/read-file-capped.ts';
import {
  TABLES,
  TABLE_NAMES,
  approvalRow,
  attestationRows,
  decisionRows,
  eventRow,
  exceptionRow,
  policyRow,
  vsaRow,
  type Row,
  type TableName,
} from './tables.ts';

/** The export's bookkeeping file in the output directory. */
export const EXPORT_STATE_FILE = '_export.json';

export const ExportStateSchema = z.strictObject({
  version: z.literal(1),
  /** The archive database exported (a directory holds one archive). */
  database: z.string(),
  /** When the last run finished reading the archive: the read model is at least this fresh. */
  exportedAt: z.iso.datetime(),
  /** Per source collection: the newest record time exported. */
  watermarks: z.record(z.string(), z.iso.datetime()),
  runs: z.number().int().nonnegative(),
});
export type ExportState = z.infer<typeof ExportStateSchema>;

/** What one export run did. */
export interface ExportReport {
  dir: string;
  runId: string;
  /** Rows written per table (new ones only). */
  written: Record<TableName, number>;
  /** Records read from the archive per collection. */
  read: Partial<Record<ExportedCollection, number>>;
  seconds: number;
  state: ExportState;
}

/** The state file of `dir`, or undefined when nothing was exported there yet. */
export function readExportState(dir: string): ExportState | undefined {
  const path = join(dir, EXPORT_STATE_FILE);
  if (!existsSync(path)) return undefined;
  const parsed = ExportStateSchema.safeParse(
    JSON.parse(readFileCapped(path, CONFIG_FILE_LIMIT_BYTES, 'export state').toString('utf8')),
  );
  if (!parsed.success) {
    throw new GateError(
      'INPUT_INVALID',
      `${path} is not an export state file:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** Row sinks: one NDJSON file per table in the staging directory. */
class RowFiles {
  private readonly streams = new Map<TableName, WriteStream>();
  readonly counts = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
  constructor(private readonly dir: string) {}

  path(table: TableName): string {
    return join(this.dir, `${table}.ndjson`);
  }

  async add(table: TableName, row: Row): Promise<void> {
    let stream = this.streams.get(table);
    if (!stream) {
      stream = createWriteStream(this.path(table));
      this.streams.set(table, stream);
    }
    this.counts[table]++;
    if (!stream.write(JSON.stringify(row) + '\n')) await once(stream, 'drain');
  }

  async close(): Promise<void> {
    for (const stream of this.streams.values()) {
      stream.end();
      await once(stream, 'finish');
    }
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** `{col: 'TYPE', …}` for read_json's `columns`. */
function columnsLiteral(table: TableName): string {
  return `{${Object.entries(TABLES[table].columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ')}}`;
}

/** The glob of a table's Parquet files in `dir`. */
export function parquetGlob(dir: string, table: TableName): string {
  return join(dir, table, '*', '*.parquet');
}

export function hasParquet(dir: string, table: TableName): boolean {
  const root = join(dir, table);
  if (!existsSync(root)) return false;
  return readdirSync(root).some((p) => readdirSync(join(root, p)).some((f) => f.endsWith('.parquet')));
}

/** Loads one table's new rows, drops those already written, and writes the rest into staging; returns the count. */
async function writeTable(
  db: DuckDBConnection,
  table: TableName,
  source: string,
  outDir: string,
  stagingDir: string,
  runId: string,
): Promise<number> {
  const spec = TABLES[table];
  await db.run(
    `CREATE OR REPLACE TEMP TABLE fresh AS SELECT * FROM read_json(${sqlString(source)}, format = 'newline_delimited', columns = ${columnsLiteral(table)})`,
  );
  if (hasParquet(outDir, table)) {
    await db.run(
      `DELETE FROM fresh WHERE (${spec.key}) IN (SELECT ${spec.key} FROM read_parquet(${sqlString(parquetGlob(outDir, table))}, hive_partitioning = true))`,
    );
  }
  // Duplicates within one run (the same record read twice around the overlap) are written once.
  const count = Number(
    (await db.runAndReadAll(`SELECT count(DISTINCT ${spec.key}) AS n FROM fresh`)).getRowObjectsJson()[0]!.n,
  );
  if (count === 0) return 0;
  const columns: Record<string, string> = spec.columns;
  const timeColumn = Object.keys(columns).find((c) => columns[c] === 'TIMESTAMPTZ');
  await db.run(
    `COPY (SELECT DISTINCT ON (${spec.key}) * FROM fresh ORDER BY ${timeColumn ?? spec.key}) TO ${sqlString(join(stagingDir, table))} ` +
      `(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN ${sqlString(`run-${runId}-{i}`)})`,
  );
  return count;
}

/** Moves every staged file into place (one atomic rename each). */
function publishStaged(stagingDir: string, outDir: string, table: TableName): void {
  const root = join(stagingDir, table);
  if (!existsSync(root)) return;
  for (const partition of readdirSync(root)) {
    const target = join(outDir, table, partition);
    mkdirSync(target, { recursive: true });
    for (const file of readdirSync(join(root, partition))) {
      renameSync(join(root, partition, file), join(target, file));
    }
  }
}

/** What the export reads: the archive's `recordsSince` (a generator stands in for it in the bench). */
export type ExportSource = Pick<Archive, 'databaseName' | 'recordsSince'>;

/** Exports the archive into `dir` (created if needed); incremental unless `full`. */
export async function exportParquet(
  archive: ExportSource,
  dir: string,
  options: { overlapMs?: number; full?: boolean } = {},
): Promise<ExportReport> {
  const began = performance.now();
  const overlapMs = options.overlapMs ?? 24 * 3600 * 1000;
  mkdirSync(dir, { recursive: true });
  const previous = options.full ? undefined : readExportState(dir);
  const database = archive.databaseName;
  if (previous && previous.database !== database) {
    throw new GateError(
      'INPUT_INVALID',
      `${dir} holds an export of archive ${previous.database}, not ${database}: choose another --out`,
    );
  }
  if (options.full)
    for (const table of TABLE_NAMES) rmSync(join(dir, table), { recursive: true, force: true });
  const startedAt = new Date();
  const runId = startedAt.toISOString().replace(/[-:.]/g, '');
  // A crashed run's staging files were never renamed into place: its rows are read again.
  for (const old of readdirSync(dir).filter((f) => f.startsWith('.staging-'))) {
    rmSync(join(dir, old), { recursive: true, force: true });
  }
  const stagingDir = join(dir, `.staging-${runId}`);
  mkdirSync(stagingDir, { recursive: true });
  const files = new RowFiles(stagingDir);
  const watermarks: Record<string, string> = { ...previous?.watermarks };
  const read: Partial<Record<ExportedCollection, number>> = {};
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const db = await instance.connect();
  try {
    for (const collection of Object.keys(EXPORT_TIME_FIELDS) as ExportedCollection[]) {
      const mark = watermarks[collection];
      const since = mark === undefined ? undefined : new Date(Date.parse(mark) - overlapMs);
      let newest = mark;
      let count = 0;
      const seen = (iso: string) => {
        if (newest === undefined || iso > newest) newest = iso;
      };
      for await (const record of archive.recordsSince(collection, since)) {
        count++;
        switch (collection) {
          case 'decisions': {
            const d = record as Parameters<typeof decisionRows>[0];
            const rows = decisionRows(d);
            await files.add('decisions', rows.decisions);
            for (const row of rows.checks) await files.add('checks', row);
            for (const row of rows.source_refs) await files.add('source_refs', row);
            seen(d.decidedAt);
            break;
          }
          case 'attestations': {
            const a = record as Parameters<typeof attestationRows>[0];
            const rows = attestationRows(a);
            await files.add('attestations', rows.attestations);
            for (const row of rows.dependencies) await files.add('dependencies', row);
            seen(a.fetchedAt);
            break;
          }
          case 'vsas': {
            const v = record as Parameters<typeof vsaRow>[0];
            await files.add('vsas', vsaRow(v));
            seen(v.at);
            break;
          }
          case 'approvals': {
            const a = record as Parameters<typeof approvalRow>[0];
            await files.add('approvals', approvalRow(a));
            seen(a.at);
            break;
          }
          case 'events': {
            const e = record as Parameters<typeof eventRow>[0];
            await files.add('events', eventRow(e));
            seen(e.at);
            break;
          }
          case 'policies': {
            const p = record as Parameters<typeof policyRow>[0];
            await files.add('policies', policyRow(p));
            seen(p.firstStoredAt);
            break;
          }
          case 'exceptions':
            await files.add('exceptions', exceptionRow(record as Parameters<typeof exceptionRow>[0]));
            break;
        }
      }
      read[collection] = count;
      if (newest !== undefined) watermarks[collection] = newest;
    }
    await files.close();
    const written = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
    for (const table of TABLE_NAMES) {
      if (files.counts[table] === 0) continue;
      written[table] = await writeTable(db, table, files.path(table), dir, stagingDir, runId);
    }
    for (const table of TABLE_NAMES) publishStaged(stagingDir, dir, table);
    const state: ExportState = {
      version: 1,
      database,
      exportedAt: startedAt.toISOString(),
      watermarks,
      runs: (previous?.runs ?? 0) + 1,
    };
    writeFileSync(join(dir, EXPORT_STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    return { dir, runId, written, read, seconds: (performance.now() - began) / 1000, state };
  } finally {
    db.closeSync();
    instance.closeSync();
    rmSync(stagingDir, { recursive: true, force: true });
  }
}

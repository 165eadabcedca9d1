/**
 * `slsa-gate audit export --format parquet --out DIR`: writes the archive as the read model's
 * Parquet tables (tables.ts), partitioned by UTC day, incrementally.
 *
 * Incremental: the archive keeps a change feed (src/archive/README.md#the-change-feed): each
 * write the read model exports names the records it wrote in the bucket of its UTC minute.
 * `DIR/_export.json` keeps the instant the last run read the feed up to; the next run reads
 * the buckets from that instant minus `overlapMs` (a write stamped by a clock a little behind,
 * or landing a little after its minute) to now, each by key, then each named record by key,
 * and writes only rows whose key no file of their day holds yet. Nothing new costs one lookup
 * per minute since the last run. A first run, `--rebuild`, a directory exported before the
 * feed, or an archive whose feed started after the last run read it, scan every collection
 * instead (the store is the source of truth) and skip the rows already written; `--rebuild`
 * keeps every row and replaces the tables whole once staged.
 *
 * Rows go into DuckDB in batches (JSON lines, several MB per statement, parsed by DuckDB with
 * the table's column types), are sorted by the table's common filters and time, and written as
 * zstd Parquet, one file per day and run. Files are staged; the staged run's state file is
 * written last, and the run is then renamed into place file by file (atomic renames) and its
 * state written. A run that crashed after staging is completed by the next; one that crashed
 * before is discarded and read again. A day holding more than COMPACT_AT files is compacted
 * into one sorted file holding the same rows.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import * as z from 'zod';
import {
  EXPORTED_COLLECTIONS,
  type Archive,
  type ExportBatch,
  type ExportedCollection,
} from '../../archive/archive.ts';
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
  version: z.literal(2),
  /** The archive database exported (a directory holds one archive). */
  database: z.string(),
  /** When the last run began reading the archive: the read model is at least this fresh. */
  exportedAt: z.iso.datetime(),
  /**
   * The instant the change feed was read up to (the run's start); the next run reads from it
   * minus the overlap. Absent: the next run scans.
   */
  feedReadTo: z.iso.datetime().optional(),
  runs: z.number().int().nonnegative(),
});
export type ExportState = z.infer<typeof ExportStateSchema>;

/** The state an export before the change feed wrote: its next run scans and skips what is written. */
const ExportStateV1Schema = z.strictObject({
  version: z.literal(1),
  database: z.string(),
  exportedAt: z.iso.datetime(),
  watermarks: z.record(z.string(), z.iso.datetime()),
  runs: z.number().int().nonnegative(),
});

/** A day with more files than this is compacted into one. */
export const COMPACT_AT = 8;

/** Rows per Parquet row group: small enough that min/max statistics prune within a day's file. */
const ROW_GROUP_SIZE = 8192;

/** How many characters of JSON lines go into DuckDB per statement. */
const BATCH_CHARS = 8 * 1024 * 1024;

/**
 * Each table's sort order within a file: the filters auditors use most, then time, so that
 * the row groups' min/max statistics let DuckDB skip what a filter excludes.
 */
const SORT_ORDER: Record<TableName, string> = {
  decisions: 'outcome, builder_id, decided_at, decision_id',
  checks: 'result, code, decided_at, decision_id, position',
  source_refs: 'source_repo, decided_at, decision_id',
  attestations: 'builder_id, fetched_at, digest',
  dependencies: 'uri, fetched_at, attestation_digest, position',
  vsas: 'direction, recorded_at, vsa_id',
  approvals: 'approver, given_at, approval_id',
  exceptions: 'check_id, granted_at, exception_id',
  events: 'to_status, occurred_at, event_id',
  policies: 'first_stored_at, policy_id',
};

/** What one export run did. */
export interface ExportReport {
  dir: string;
  runId: string;
  /** `feed`: read what the change feed names, by key; `scan`: read every collection. */
  mode: 'feed' | 'scan';
  /** Rows written per table (new ones only). */
  written: Record<TableName, number>;
  /** Records read from the archive per collection. */
  read: Record<ExportedCollection, number>;
  /** Days compacted into one file (`table/day=…`). */
  compacted: string[];
  seconds: number;
  state: ExportState;
}

/** The state file of `dir`, or undefined when nothing was exported there yet. */
export function readExportState(dir: string): ExportState | undefined {
  const path = join(dir, EXPORT_STATE_FILE);
  if (!existsSync(path)) return undefined;
  const json: unknown = JSON.parse(
    readFileCapped(path, CONFIG_FILE_LIMIT_BYTES, 'export state').toString('utf8'),
  );
  const parsed = ExportStateSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const v1 = ExportStateV1Schema.safeParse(json);
  if (v1.success) {
    const { database, exportedAt, runs } = v1.data;
    return { version: 2, database, exportedAt, runs };
  }
  throw new GateError(
    'INPUT_INVALID',
    `${path} is not an export state file:\n${z.prettifyError(parsed.error)}`,
  );
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The glob of a table's Parquet files in `dir`. */
export function parquetGlob(dir: string, table: TableName): string {
  return join(dir, table, '*', '*.parquet');
}

/** The Parquet files of one day partition (`day=…` directory), by name. */
function parquetFiles(partition: string): string[] {
  return existsSync(partition)
    ? readdirSync(partition)
        .filter((f) => f.endsWith('.parquet'))
        .sort()
    : [];
}

export function hasParquet(dir: string, table: TableName): boolean {
  const root = join(dir, table);
  if (!existsSync(root)) return false;
  return readdirSync(root).some((p) => parquetFiles(join(root, p)).length > 0);
}

/** from_json's structure for a table's columns. */
function jsonStructure(table: TableName): string {
  const columns: Record<string, string> = TABLES[table].columns;
  const structure = Object.fromEntries(
    Object.entries(columns).map(([name, type]) => [name, type.endsWith('[]') ? [type.slice(0, -2)] : type]),
  );
  return JSON.stringify(structure);
}

/** Rows of each table, handed to DuckDB as JSON lines several MB at a time. */
class RowBatches {
  readonly counts = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
  private readonly lines = new Map<TableName, { parts: string[]; chars: number }>();

  constructor(private readonly db: DuckDBConnection) {}

  async create(): Promise<void> {
    for (const table of TABLE_NAMES) {
      const columns = Object.entries(TABLES[table].columns as Record<string, string>)
        .map(([name, type]) => `${name} ${type}`)
        .join(', ');
      await this.db.run(`CREATE TEMP TABLE fresh_${table} (${columns})`);
    }
  }

  add(table: TableName, row: Row): void {
    let pending = this.lines.get(table);
    if (!pending) {
      pending = { parts: [], chars: 0 };
      this.lines.set(table, pending);
    }
    const line = JSON.stringify(row);
    pending.parts.push(line);
    pending.chars += line.length;
    this.counts[table]++;
  }

  /** Hands DuckDB each table whose pending lines reached BATCH_CHARS. */
  async flushFull(): Promise<void> {
    for (const [table, pending] of this.lines) {
      if (pending.chars >= BATCH_CHARS) await this.flush(table);
    }
  }

  async flush(table: TableName): Promise<void> {
    const pending = this.lines.get(table);
    if (!pending || pending.parts.length === 0) return;
    const text = pending.parts.join('\n');
    this.lines.set(table, { parts: [], chars: 0 });
    // JSON.stringify escapes line breaks inside strings: a line is one row.
    await this.db.run(
      `INSERT INTO fresh_${table} SELECT unnest(from_json(line, ${sqlString(jsonStructure(table))}))
       FROM (SELECT unnest(string_split($text, chr(10))) AS line)`,
      { text },
    );
  }

  async flushAll(): Promise<void> {
    for (const table of TABLE_NAMES) await this.flush(table);
  }
}

/** The rows of each exported record, into `rows`. */
function addRows(rows: RowBatches, batch: ExportBatch): void {
  switch (batch.collection) {
    case 'decisions':
      for (const record of batch.records) {
        const built = decisionRows(record);
        rows.add('decisions', built.decisions);
        for (const row of built.checks) rows.add('checks', row);
        for (const row of built.source_refs) rows.add('source_refs', row);
      }
      return;
    case 'attestations':
      for (const record of batch.records) {
        const built = attestationRows(record);
        rows.add('attestations', built.attestations);
        for (const row of built.dependencies) rows.add('dependencies', row);
      }
      return;
    case 'vsas':
      for (const record of batch.records) rows.add('vsas', vsaRow(record));
      return;
    case 'approvals':
      for (const record of batch.records) rows.add('approvals', approvalRow(record));
      return;
    case 'events':
      for (const record of batch.records) rows.add('events', eventRow(record));
      return;
    case 'policies':
      for (const record of batch.records) rows.add('policies', policyRow(record));
      return;
    case 'exceptions':
      for (const record of batch.records) rows.add('exceptions', exceptionRow(record));
      return;
  }
}

/**
 * Drops the fresh rows whose key a file of their day already holds, and stages the rest;
 * returns how many were staged. Only the days the fresh rows fall on are read.
 */
async function stageTable(
  db: DuckDBConnection,
  table: TableName,
  outDir: string,
  stagingDir: string,
  runId: string,
  rebuild: boolean,
): Promise<number> {
  const spec = TABLES[table];
  const fresh = `fresh_${table}`;
  const days = (await db.runAndReadAll(`SELECT DISTINCT day FROM ${fresh}`))
    .getRowObjectsJson()
    .map((r) => String(r.day));
  // A rebuild replaces the tables whole (publishStaged): it keeps every row it read.
  const written = (rebuild ? [] : days).flatMap((day) => {
    const partition = join(outDir, table, `day=${day}`);
    return parquetFiles(partition).map((f) => join(partition, f));
  });
  if (written.length > 0) {
    await db.run(
      `DELETE FROM ${fresh} WHERE (${spec.key}) IN (SELECT ${spec.key} FROM read_parquet([${written.map(sqlString).join(', ')}], hive_partitioning = true, hive_types = {'day': VARCHAR}))`,
    );
  }
  const count = Number(
    (await db.runAndReadAll(`SELECT count(*) AS n FROM ${fresh}`)).getRowObjectsJson()[0]!.n,
  );
  if (count === 0) return 0;
  await db.run(
    `COPY (SELECT * FROM ${fresh} ORDER BY day, ${SORT_ORDER[table]}) TO ${sqlString(join(stagingDir, table))} ` +
      `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_SIZE}, PARTITION_BY (day), FILENAME_PATTERN ${sqlString(`run-${runId}-{i}`)})`,
  );
  return count;
}

/**
 * In a staged run: the run is a rebuild, whose tables replace the directory's whole. Each table
 * it staged is a directory (empty when the store holds no such rows) until it is renamed into
 * place, so that a crash half-way through publishing is finished by the next run.
 */
const REBUILD_MARKER = '_rebuild';

/**
 * Moves a complete staged run into place (one atomic rename per file; a rebuild's, one per
 * table, replacing what was there), then writes its state.
 */
function publishStaged(stagingDir: string, outDir: string): ExportState {
  const state = readExportState(stagingDir);
  if (!state) throw new GateError('INPUT_INVALID', `${stagingDir} holds no complete staged run`);
  const rebuild = existsSync(join(stagingDir, REBUILD_MARKER));
  for (const table of TABLE_NAMES) {
    const root = join(stagingDir, table);
    if (!existsSync(root)) continue;
    if (rebuild) {
      rmSync(join(outDir, table), { recursive: true, force: true });
      renameSync(root, join(outDir, table));
      continue;
    }
    for (const partition of readdirSync(root)) {
      const target = join(outDir, table, partition);
      mkdirSync(target, { recursive: true });
      for (const file of readdirSync(join(root, partition))) {
        renameSync(join(root, partition, file), join(target, file));
      }
    }
  }
  writeStateFile(outDir, state);
  rmSync(stagingDir, { recursive: true, force: true });
  return state;
}

/** Writes `dir/_export.json` atomically (a reader sees the old state or the new one). */
function writeStateFile(dir: string, state: ExportState): void {
  const tmp = join(dir, `${EXPORT_STATE_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, join(dir, EXPORT_STATE_FILE));
}

/**
 * A compaction in progress: written before the compacted file is renamed into place, removed
 * once the files it replaces are gone. While it lies there a reader takes `target` (when it is
 * in place) instead of `replaces`, never both: they hold the same rows.
 */
export const CompactionSchema = z.strictObject({ target: z.string(), replaces: z.array(z.string()) });
export const COMPACTION_PREFIX = '.compaction-';

/**
 * Finishes what crashed runs left: a completely staged run is published, a partly staged one
 * dropped (its records are read again); a compaction whose file was renamed into place has
 * the files it replaces removed, one that was not is dropped.
 */
function recoverCrashedRuns(dir: string): void {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (entry.startsWith('.staging-')) {
      if (existsSync(join(path, EXPORT_STATE_FILE))) publishStaged(path, dir);
      else rmSync(path, { recursive: true, force: true });
    } else if (entry.startsWith(COMPACTION_PREFIX)) {
      const partition = join(dir, ...entry.slice(COMPACTION_PREFIX.length, -'.json'.length).split('~'));
      const plan = CompactionSchema.parse(
        JSON.parse(readFileCapped(path, CONFIG_FILE_LIMIT_BYTES, 'compaction').toString('utf8')),
      );
      if (existsSync(join(partition, plan.target))) {
        for (const file of plan.replaces) rmSync(join(partition, file), { force: true });
      }
      for (const tmp of readdirSync(partition).filter((f) => f.endsWith('.parquet.tmp'))) {
        rmSync(join(partition, tmp), { force: true });
      }
      unlinkSync(path);
    }
  }
}

/**
 * Rewrites each day of `dir` holding more than `compactAt` files of a table as one file sorted
 * like a run's: the same rows (a reader that loaded the old files sees them disappear and
 * reloads). The compacted file is renamed into place, then the old ones removed; a plan file
 * written first lets the next run finish a compaction a crash interrupted.
 */
async function compact(
  db: DuckDBConnection,
  dir: string,
  runId: string,
  compactAt: number,
): Promise<string[]> {
  const compacted: string[] = [];
  for (const table of TABLE_NAMES) {
    const root = join(dir, table);
    if (!existsSync(root)) continue;
    for (const partition of readdirSync(root).sort()) {
      const files = parquetFiles(join(root, partition));
      if (files.length <= compactAt) continue;
      const target = `compacted-${runId}.parquet`;
      const tmp = join(root, partition, `${target}.tmp`);
      const sources = files.map((f) => sqlString(join(root, partition, f))).join(', ');
      // One file, no partitioning: written in exactly the order asked.
      await db.run(
        `COPY (SELECT * FROM read_parquet([${sources}]) ORDER BY ${SORT_ORDER[table]}) TO ${sqlString(tmp)} ` +
          `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
      );
      const plan = join(dir, `${COMPACTION_PREFIX}${table}~${partition}.json`);
      writeFileSync(plan, JSON.stringify({ target, replaces: files }));
      renameSync(tmp, join(root, partition, target));
      for (const file of files) unlinkSync(join(root, partition, file));
      unlinkSync(plan);
      compacted.push(`${table}/${partition}`);
    }
  }
  return compacted;
}

/** What a scan reads: every exported record, in batches (a generator stands in for the archive in the benches). */
export interface ExportSource {
  readonly databaseName: string;
  exportBatches(): AsyncIterable<ExportBatch>;
}

/** A source over one stream of records per collection (records made by a test or a bench), read in batches. */
export function exportSourceOf(
  databaseName: string,
  recordsOf: (collection: ExportedCollection) => AsyncIterable<unknown>,
): ExportSource {
  return {
    databaseName,
    async *exportBatches() {
      for (const collection of EXPORTED_COLLECTIONS) {
        let records: unknown[] = [];
        for await (const record of recordsOf(collection)) {
          records.push(record);
          if (records.length === 2000) {
            yield { collection, records } as ExportBatch;
            records = [];
          }
        }
        if (records.length > 0) yield { collection, records } as ExportBatch;
      }
    },
  };
}

/** A source that keeps the change feed (the archive): incremental runs read by key. */
export type ChangeFeedSource = ExportSource &
  Pick<Archive, 'changeFeedStart' | 'changesBetween' | 'exportRecordsByKey'>;

function keepsChangeFeed(source: ExportSource): source is ChangeFeedSource {
  return 'changesBetween' in source && 'exportRecordsByKey' in source && 'changeFeedStart' in source;
}

/** The default overlap of incremental runs: writers' clocks and late writes within it are read again. */
export const DEFAULT_OVERLAP_MS = 10 * 60 * 1000;

/** Held by the run writing a directory: `DIR/.export.lock`, its mtime renewed while the run lasts. */
const LOCK_FILE = '.export.lock';
const LOCK_RENEW_MS = 5_000;
/** A lock not renewed for this long was left by a run that died: the next run takes it over. */
const LOCK_STALE_MS = 60_000;
const LOCK_POLL_MS = 200;

/**
 * Runs `run` holding the directory's export lock, waiting while another live run holds it.
 * Two runs at once would each take the other's staging directory for a crashed run's and
 * remove it, or both stage and publish the same new rows (a key written twice). The
 * schedule never overlaps its runs, but a retried activity attempt, a second workflow on the
 * task queue or an operator's `audit export --out` into the same directory would.
 */
async function withExportLock<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const path = join(dir, LOCK_FILE);
  for (;;) {
    try {
      writeFileSync(path, JSON.stringify({ host: hostname(), pid: process.pid, at: new Date() }), {
        flag: 'wx',
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = statSync(path, { throwIfNoEntry: false });
    if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmSync(path, { force: true });
    else await sleep(LOCK_POLL_MS);
  }
  const renew = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // Renewal is best effort: a missing lock only lets the next run start sooner.
    }
  }, LOCK_RENEW_MS);
  renew.unref();
  try {
    return await run();
  } finally {
    clearInterval(renew);
    rmSync(path, { force: true });
  }
}

/**
 * Exports the archive into `dir` (created if needed): incremental through the change feed
 * when it can be, a scan otherwise; `rebuild` scans and replaces the tables whole once it is staged.
 * One run writes a directory at a time (withExportLock).
 */
export async function exportParquet(
  source: ExportSource,
  dir: string,
  options: { overlapMs?: number; rebuild?: boolean; compactAt?: number } = {},
): Promise<ExportReport> {
  mkdirSync(dir, { recursive: true });
  return withExportLock(dir, () => exportLocked(source, dir, options));
}

async function exportLocked(
  source: ExportSource,
  dir: string,
  options: { overlapMs?: number; rebuild?: boolean; compactAt?: number },
): Promise<ExportReport> {
  const began = performance.now();
  const overlapMs = options.overlapMs ?? DEFAULT_OVERLAP_MS;
  recoverCrashedRuns(dir);
  const staged = await stageExport(source, dir, { overlapMs, rebuild: options.rebuild === true });
  const state = publishStaged(staged.stagingDir, dir);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const db = await instance.connect();
  let compacted: string[];
  try {
    compacted = await compact(db, dir, staged.runId, options.compactAt ?? COMPACT_AT);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
  return {
    dir,
    runId: staged.runId,
    mode: staged.mode,
    written: staged.written,
    read: staged.read,
    compacted,
    seconds: (performance.now() - began) / 1000,
    state,
  };
}

/**
 * Reads the archive and stages the run's new rows and its state in `dir/.staging-<run>`, without
 * publishing them: `exportParquet` publishes right after; a crash in between is completed by the
 * next run.
 */
export async function stageExport(
  source: ExportSource,
  dir: string,
  options: { overlapMs: number; rebuild: boolean },
): Promise<{
  stagingDir: string;
  runId: string;
  mode: 'feed' | 'scan';
  written: Record<TableName, number>;
  read: Record<ExportedCollection, number>;
}> {
  const previous = options.rebuild ? undefined : readExportState(dir);
  const database = source.databaseName;
  if (previous && previous.database !== database) {
    throw new GateError(
      'INPUT_INVALID',
      `${dir} holds an export of archive ${previous.database}, not ${database}: choose another --out`,
    );
  }
  const startedAt = new Date();
  const runId = startedAt.toISOString().replace(/[-:.]/g, '');
  const stagingDir = join(dir, `.staging-${runId}`);
  mkdirSync(stagingDir, { recursive: true });
  const readTo = previous?.feedReadTo ? new Date(previous.feedReadTo) : undefined;
  const feed = keepsChangeFeed(source) ? source : undefined;
  const feedStart = feed && (await feed.changeFeedStart());
  // The feed serves this run only if it named every write since the last run read the archive.
  const mode = readTo && feedStart && feedStart <= readTo ? 'feed' : 'scan';
  const from = readTo && new Date(readTo.getTime() - options.overlapMs);
  const batches =
    mode === 'feed'
      ? feed!.exportRecordsByKey(await feed!.changesBetween(from!, startedAt))
      : source.exportBatches();
  const read = Object.fromEntries(EXPORTED_COLLECTIONS.map((c) => [c, 0])) as Record<
    ExportedCollection,
    number
  >;
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const db = await instance.connect();
  try {
    const rows = new RowBatches(db);
    await rows.create();
    for await (const batch of batches) {
      read[batch.collection] += batch.records.length;
      addRows(rows, batch);
      await rows.flushFull();
    }
    await rows.flushAll();
    const written = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
    for (const table of TABLE_NAMES) {
      if (rows.counts[table] === 0) continue;
      written[table] = await stageTable(db, table, dir, stagingDir, runId, options.rebuild);
    }
    if (options.rebuild) {
      // The old tables stay served until the rebuilt ones replace them: a rebuild that fails
      // half-way (the store gone mid-scan) leaves the read model as it was.
      for (const table of TABLE_NAMES) mkdirSync(join(stagingDir, table), { recursive: true });
      writeFileSync(join(stagingDir, REBUILD_MARKER), '');
    }
    const state: ExportState = {
      version: 2,
      database,
      exportedAt: startedAt.toISOString(),
      // Read up to the run's start (a scan reads at least everything written before it).
      ...(feedStart ? { feedReadTo: startedAt.toISOString() } : {}),
      runs: (previous?.runs ?? 0) + 1,
    };
    // Written last: a staging directory with its state file is a complete run.
    writeStateFile(stagingDir, state);
    return { stagingDir, runId, mode, written, read };
  } catch (err) {
    rmSync(stagingDir, { recursive: true, force: true });
    throw err;
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

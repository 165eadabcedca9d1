/**
 * The read model opened for queries: DuckDB over the Parquet tables an export wrote
 * (export-parquet.ts), with derived views. Either as views over the files (one-shot
 * queries: `audit sql`) or loaded into memory (`load: true`: a long-lived server answering
 * many queries, and the bench). The same files load into a warehouse unchanged.
 */
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as z from 'zod';
import { GateError } from '../../core/errors.ts';
import {
  COMPACTION_PREFIX,
  CompactionSchema,
  EXPORT_STATE_FILE,
  readExportState,
  type ExportState,
} from './export-parquet.ts';
import { createImpactTables, refreshImpactTables } from './impact.ts';
import { TABLES, TABLE_NAMES, type TableName } from './tables.ts';

/** Names a table in a derived view's SQL (the table itself, its new rows, or both). */
type From = (table: string) => string;

/**
 * A view derived from the tables, defined once here for every consumer of the read model.
 * Loaded, it is a table, and `refresh()` maintains it from the new rows of its `inputs`:
 * by the delta rule of a join (new rows of one input against the others) when the view is
 * a join, filter, projection or unnest of its inputs (or counts summed at query time); by
 * recomputing the groups new rows touch when it has `regroupBy`.
 */
interface DerivedView {
  inputs: readonly string[];
  /** The view's SQL; several parts are its UNION ALL (a part's new rows come from the inputs it reads). */
  sql: (from: From) => string | string[];
  /** A DISTINCT view: new rows it already holds are not added again. */
  distinct?: true;
  /** A grouping view: the groups (by this column of its one input) new rows touch are recomputed. */
  regroupBy?: string;
}

/** The `daily_counts` dimensions of one value per decision: name, value, rows counted. */
const DECISION_COUNTS = [
  ['all', "''", ''],
  ['outcome', 'outcome', ''],
  ['builder', "builder_id || coalesce('@' || builder_version, '')", ''],
  ['builder_id', 'builder_id', ''],
  ['builder_version', 'builder_version', 'WHERE builder_version IS NOT NULL'],
  ['source_repo', 'source_repo', 'WHERE source_repo IS NOT NULL'],
  ['repository', 'repository', ''],
  ['policy_digest', 'policy_digest', ''],
] as const;

/** The UNION ALL parts of a view's SQL. */
const partsOf = (view: DerivedView, from: From): string[] => [view.sql(from)].flat();

const DERIVED_VIEWS: Record<string, DerivedView> = {
  /** One row per publish: where the decision's artifact was published (from its `published` event). */
  publications: {
    inputs: ['events'],
    sql: (from) => `SELECT decision_id,
      json_extract_string(data, '$.repository') AS repository,
      json_extract_string(data, '$.tag') AS tag,
      json_extract_string(data, '$.digest') AS digest,
      CAST(json_extract_string(data, '$.at') AS TIMESTAMPTZ) AS published_at,
      day
    FROM ${from('events')} WHERE to_status = 'published'`,
  },
  /** Each attestation (or consumed VSA) digest a decision rests on, one row each. */
  decision_attestations: {
    inputs: ['decisions'],
    sql: (from) =>
      `SELECT decision_id, unnest(attestation_digests) AS attestation_digest FROM ${from('decisions')}`,
  },
  /** Each dependency a decision's provenance recorded, one row each (impact analysis). */
  decision_dependencies: {
    inputs: ['decision_attestations', 'dependencies'],
    sql: (from) => `SELECT u.decision_id, dep.uri, dep.sha256, dep.digests
    FROM ${from('decision_attestations')} u JOIN ${from('dependencies')} dep ON dep.attestation_digest = u.attestation_digest`,
  },
  /** Each signing identity a decision's attestations carry (impact analysis). */
  decision_signers: {
    inputs: ['decision_attestations', 'attestations'],
    distinct: true,
    sql: (from) => `SELECT DISTINCT u.decision_id, a.signer_identity
    FROM ${from('decision_attestations')} u JOIN ${from('attestations')} a ON a.digest = u.attestation_digest
    WHERE a.signer_identity IS NOT NULL`,
  },
  /**
   * Decision → decision edges through artifacts slsa-gate published: `downstream` recorded a
   * dependency whose sha256 is the artifact `upstream` published (and issued a VSA for).
   */
  dependency_edges: {
    inputs: ['publications', 'decision_dependencies'],
    sql: (from) => `SELECT p.decision_id AS upstream, d.decision_id AS downstream, p.digest
    FROM ${from('publications')} p JOIN ${from('decision_dependencies')} d ON d.sha256 = p.digest`,
  },
  /**
   * Decision counts per dimension, key and day of decision (docs/audit.md#daily_counts):
   * day-range statistics sum them, and a list finds from them the newest days that can hold
   * its page. Several rows may count one (dimension, key, day): readers sum them.
   */
  daily_counts: {
    inputs: ['decisions', 'approvals'],
    sql: (from) => [
      ...DECISION_COUNTS.map(
        ([dimension, key, where]) =>
          `SELECT '${dimension}' AS dimension, ${key} AS key, day, count(*) AS count FROM ${from('decisions')} ${where} GROUP BY ALL`,
      ),
      `SELECT 'failing_code', code, day, count(*)
        FROM (SELECT unnest(failing_codes) AS code, day FROM ${from('decisions')}) GROUP BY ALL`,
      `SELECT 'failing_check', check_id, day, count(*)
        FROM (SELECT unnest(failing_checks) AS check_id, day FROM ${from('decisions')}) GROUP BY ALL`,
      `SELECT 'approver', a.approver, d.day, count(*)
        FROM ${from('approvals')} a JOIN ${from('decisions')} d USING (decision_id) GROUP BY ALL`,
    ],
  },
  /**
   * The current status of each decision: the target of its newest event; of events stamped
   * alike, the later in the lifecycle (the lifecycle in src/archive/README.md).
   */
  decision_status: {
    inputs: ['events'],
    regroupBy: 'decision_id',
    sql: (from) => `SELECT decision_id,
      arg_max(to_status, epoch_us(occurred_at) * 10 + CASE to_status
        WHEN 'decided' THEN 0 WHEN 'awaiting-approval' THEN 1 WHEN 'approved' THEN 2 ELSE 3 END) AS status,
      max(occurred_at) AS status_at
    FROM ${from('events')} GROUP BY decision_id`,
  },
  /** Published releases with the decision they rest on. */
  releases: {
    inputs: ['publications', 'decisions'],
    sql: (from) => `SELECT p.repository, p.tag, p.digest, p.published_at, d.*
    EXCLUDE (repository, tag, day), d.day
    FROM ${from('publications')} p JOIN ${from('decisions')} d USING (decision_id)`,
  },
};

/** The order a loaded table is kept in: by time, so a time range reads only the row groups it covers. */
function loadOrder(table: TableName): string {
  if (table === 'decisions') return 'decided_at, decision_id';
  const columns: Record<string, string> = TABLES[table].columns;
  return Object.keys(columns).find((c) => columns[c] === 'TIMESTAMPTZ') ?? TABLES[table].key;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** A query's answer: column names and rows as JSON values (64-bit integers as strings). */
export interface QueryResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/** The read model of one export directory. */
export interface ReadModel {
  dir: string;
  /** The export's state when the model last read it: `exportedAt` is how fresh the model is. */
  readonly state: ExportState;
  /** The export time the answers are as of (the state's `exportedAt`). */
  readonly asOf: string;
  /** Runs SQL the caller wrote (internal queries; user SQL goes through `readOnlySql`). */
  query(sql: string, params?: Record<string, string | number | boolean | null>): Promise<QueryResult>;
  /** The type of each statement in `sql`, bound against the model (INPUT_INVALID when it does not parse or bind). */
  statementTypes(sql: string): Promise<StatementType[]>;
  /**
   * Catches up with the export directory. Loaded: adds the rows of files a later export
   * wrote (and maintains the derived tables from them); when files it loaded are gone (a
   * compaction replaced them), loads the directory afresh and swaps it in. Queries keep
   * being answered meanwhile, from the model as it was until the new rows are committed.
   */
  refresh(): Promise<{ changed: boolean }>;
  close(): void;
}

/**
 * The export state of the read model in `dir`; READ_MODEL_MISSING, naming the directory and how
 * to make one, when the directory does not exist or no export was written there. A model with
 * no export would answer every query with nothing, as if the archive were empty.
 */
export function exportedState(dir: string): ExportState {
  const make = `make it with: slsa-gate audit export --format parquet --out ${dir}`;
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new GateError('READ_MODEL_MISSING', `no read model at ${dir}: no such directory; ${make}`, {
      detail: { dir },
    });
  }
  const state = readExportState(dir);
  if (state === undefined) {
    throw new GateError(
      'READ_MODEL_MISSING',
      `no read model at ${dir}: nothing was exported there (no ${EXPORT_STATE_FILE}); ${make}`,
      { detail: { dir } },
    );
  }
  return state;
}

/** The Parquet files of each table, by path. */
type FileSets = Record<TableName, Set<string>>;

/**
 * The files a reader takes, as one consistent view although the export changes the directory
 * meanwhile. A compaction renames its file into place before it removes the files it replaces
 * (both hold the same rows): while its plan lies there, the replaced files are left out once the
 * compacted one is in place. The plans are read between two listings that agree — a replaced
 * file still listed after the plans were read means its plan was still there (it is removed
 * only after every replaced file).
 */
function listFiles(dir: string): FileSets {
  for (;;) {
    const first = listParquet(dir);
    const plans = compactionPlans(dir);
    const files = listParquet(dir);
    if (!sameFiles(first, files)) continue;
    for (const plan of plans) {
      const set = files[plan.table];
      if (!set.has(join(plan.partition, plan.target))) continue;
      for (const file of plan.replaces) set.delete(join(plan.partition, file));
    }
    return files;
  }
}

function sameFiles(a: FileSets, b: FileSets): boolean {
  return TABLE_NAMES.every((t) => a[t].size === b[t].size && [...a[t]].every((f) => b[t].has(f)));
}

/** The compactions in progress in `dir` (see `compact` in export-parquet.ts). */
function compactionPlans(
  dir: string,
): Array<{ table: TableName; partition: string; target: string; replaces: string[] }> {
  const plans = [];
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith(COMPACTION_PREFIX) || !entry.endsWith('.json')) continue;
    const [table, partition] = entry.slice(COMPACTION_PREFIX.length, -'.json'.length).split('~');
    if (!(TABLE_NAMES as string[]).includes(table!) || !partition?.startsWith('day=')) continue;
    let plan: z.infer<typeof CompactionSchema>;
    try {
      plan = CompactionSchema.parse(JSON.parse(readFileSync(join(dir, entry), 'utf8')));
    } catch {
      // Removed since it was listed (that compaction is finished), or still being written (its
      // file is not in place yet, and a listing that changed meanwhile is taken again).
      continue;
    }
    plans.push({ table: table as TableName, partition: join(dir, table!, partition), ...plan });
  }
  return plans;
}

function listParquet(dir: string): FileSets {
  const sets = {} as FileSets;
  for (const table of TABLE_NAMES) {
    const files = new Set<string>();
    const root = join(dir, table);
    if (existsSync(root)) {
      for (const partition of readdirSync(root).filter((p) => p.startsWith('day='))) {
        for (const file of readdirSync(join(root, partition))) {
          if (file.endsWith('.parquet') && !file.startsWith('.')) files.add(join(root, partition, file));
        }
      }
    }
    sets[table] = files;
  }
  return sets;
}

/** SELECT of `table`'s columns from `files` (no rows when there are none). */
function selectFrom(table: TableName, files: string[]): string {
  const columns: Record<string, string> = TABLES[table].columns;
  if (files.length === 0) {
    return `SELECT ${Object.entries(columns)
      .map(([name, type]) => `NULL::${type} AS ${name}`)
      .join(', ')} WHERE false`;
  }
  return `SELECT ${Object.keys(columns).join(', ')} FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, hive_types = {'day': VARCHAR}, union_by_name = true)`;
}

/** One DuckDB database holding the model, and the files it loaded. */
interface Loaded {
  instance: DuckDBInstance;
  db: DuckDBConnection;
  files: FileSets;
  spill: string;
  /** Queries running on it: a swapped-out database is closed once they are done. */
  running: number;
  retired: boolean;
}

function closeLoaded(l: Loaded): void {
  l.db.closeSync();
  l.instance.closeSync();
  rmSync(l.spill, { recursive: true, force: true });
}

async function openLoaded(dir: string, load: boolean): Promise<Loaded> {
  // DuckDB lets every query read its temp directory whatever allowed_directories says, and an
  // in-memory database's default is `.tmp` under the working directory, where anything may lie.
  // Its own directory (mode 0700, made here) holds nothing but what DuckDB spills into it.
  const spill = mkdtempSync(join(tmpdir(), 'slsa-gate-duckdb-'));
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(':memory:', { threads: '2', temp_directory: spill });
  } catch (err) {
    rmSync(spill, { recursive: true, force: true });
    throw err;
  }
  const db = await instance.connect();
  const loaded: Loaded = { instance, db, files: listFiles(dir), spill, running: 0, retired: false };
  try {
    for (const table of TABLE_NAMES) {
      if (load) {
        await db.run(
          `CREATE TABLE ${table} AS ${selectFrom(table, [...loaded.files[table]])} ORDER BY ${loadOrder(table)}`,
        );
      } else {
        // Views over the files listed at open (a compaction's replaced files left out): a
        // glob would read a compacted file and the files it replaces both.
        await db.run(`CREATE VIEW ${table} AS ${selectFrom(table, [...loaded.files[table]])}`);
      }
    }
    for (const [name, view] of Object.entries(DERIVED_VIEWS)) {
      const sql = partsOf(view, (t) => t).join(' UNION ALL ');
      await db.run(load ? `CREATE TABLE ${name} AS ${sql}` : `CREATE VIEW ${name} AS ${sql}`);
    }
    if (load) {
      // Point lookups (show, by digest) by index instead of a scan of every decision.
      await db.run('CREATE INDEX decisions_id ON decisions (decision_id)');
      await db.run('CREATE INDEX decisions_digest ON decisions (artifact_digest)');
      await db.run('CREATE INDEX decision_status_id ON decision_status (decision_id)');
      await createImpactTables((sql, params) => run(db, sql, params));
    }
    // From here on only the export directory (and the private spill directory) is readable,
    // and nothing may change that.
    await db.run(`SET allowed_directories = [${sqlString(dir + '/')}]`);
    await db.run('SET enable_external_access = false');
    await db.run('SET lock_configuration = true');
  } catch (err) {
    closeLoaded(loaded);
    throw err;
  }
  return loaded;
}

/**
 * Adds the rows of `added` files to a loaded model in one transaction, and the rows they
 * add to each derived table. New rows of each table go to a temporary `delta_<table>`
 * first; a derived table's new rows are, for each of its inputs in turn, that input's delta
 * joined with the inputs before it as they will be (old and new rows) and those after it as
 * they were — every new combination exactly once.
 */
async function addFiles(l: Loaded, added: Record<TableName, string[]>): Promise<void> {
  const db = await l.instance.connect();
  const deltas = new Set<string>();
  const withDelta = (table: string) => `(SELECT * FROM ${table} UNION ALL SELECT * FROM delta_${table})`;
  try {
    await db.run('BEGIN TRANSACTION');
    for (const table of TABLE_NAMES) {
      if (added[table].length === 0) continue;
      await db.run(
        `CREATE TEMP TABLE delta_${table} AS ${selectFrom(table, added[table])} ORDER BY ${loadOrder(table)}`,
      );
      deltas.add(table);
    }
    const regroup: string[] = [];
    for (const [name, view] of Object.entries(DERIVED_VIEWS)) {
      const changed = view.inputs.filter((t) => deltas.has(t));
      if (changed.length === 0) continue;
      if (view.regroupBy !== undefined) {
        regroup.push(name);
        continue;
      }
      // Per part, and per changed input that part reads: that input's delta term.
      const marked = partsOf(view, (t) => `<${t}>`);
      const terms = changed.flatMap((input) => {
        const at = view.inputs.indexOf(input);
        const delta = partsOf(view, (t) => {
          const i = view.inputs.indexOf(t);
          if (i === at) return `delta_${t}`;
          return i < at && deltas.has(t) ? withDelta(t) : t;
        });
        return delta.filter((_, p) => marked[p]!.includes(`<${input}>`));
      });
      await db.run(`CREATE TEMP TABLE delta_${name} AS ${terms.join(' UNION ALL ')}`);
      if (view.distinct) {
        await db.run(`CREATE OR REPLACE TEMP TABLE delta_${name} AS
          SELECT * FROM delta_${name} EXCEPT SELECT * FROM ${name}`);
      }
      deltas.add(name);
    }
    for (const name of deltas) await db.run(`INSERT INTO ${name} SELECT * FROM delta_${name}`);
    for (const name of regroup) {
      const view = DERIVED_VIEWS[name]!;
      const key = view.regroupBy!;
      const input = view.inputs[0]!;
      const touched = `SELECT ${key} FROM delta_${input}`;
      await db.run(`DELETE FROM ${name} WHERE ${key} IN (${touched})`);
      await db.run(
        `INSERT INTO ${name} ${partsOf(view, (t) => `(SELECT * FROM ${t} WHERE ${key} IN (${touched}))`).join(' UNION ALL ')}`,
      );
    }
    // Impact's side tables from the rows just appended (src/audit/read-model/impact.ts).
    await refreshImpactTables((sql, params) => run(db, sql, params));
    await db.run('COMMIT');
  } catch (err) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.closeSync();
  }
  for (const table of TABLE_NAMES) for (const file of added[table]) l.files[table].add(file);
}

/** Opens the read model of `dir` (READ_MODEL_MISSING when there is none); `load` copies the tables into memory. */
export async function openReadModel(dirArg: string, options: { load?: boolean } = {}): Promise<ReadModel> {
  const dir = resolve(dirArg);
  const load = options.load === true;
  // The state is read before the files are listed: the export writes it after its files, so
  // the model holds at least what that state describes.
  let state: ExportState = exportedState(dir);
  let current = await openLoaded(dir, load);
  let refreshing: Promise<{ changed: boolean }> | undefined;
  let closed = false;

  /** Runs `work` on `l`, which a close() or swap meanwhile closes only once it is done. */
  async function holding<T>(l: Loaded, work: (l: Loaded) => Promise<T>): Promise<T> {
    l.running++;
    try {
      return await work(l);
    } finally {
      l.running--;
      if (l.retired && l.running === 0) closeLoaded(l);
    }
  }
  const use = <T>(work: (db: DuckDBConnection) => Promise<T>): Promise<T> =>
    holding(current, (l) => work(l.db));

  async function catchUp(): Promise<{ changed: boolean }> {
    const nextState = exportedState(dir);
    const changedState = nextState.exportedAt !== state.exportedAt || nextState.runs !== state.runs;
    if (!load) {
      state = nextState;
      return { changed: changedState };
    }
    const files = listFiles(dir);
    const gone = TABLE_NAMES.some((t) => [...current.files[t]].some((f) => !files[t].has(f)));
    if (gone) {
      // A compaction replaced files this model loaded: load the directory afresh, then swap.
      const fresh = await openLoaded(dir, true);
      if (closed) {
        // Closed while it loaded: nothing is swapped in, and the fresh load is released.
        closeLoaded(fresh);
        return { changed: false };
      }
      const old = current;
      current = fresh;
      state = nextState;
      old.retired = true;
      if (old.running === 0) closeLoaded(old);
      return { changed: true };
    }
    const added = Object.fromEntries(
      TABLE_NAMES.map((t) => [t, [...files[t]].filter((f) => !current.files[t].has(f)).sort()]),
    ) as Record<TableName, string[]>;
    const any = TABLE_NAMES.some((t) => added[t].length > 0);
    // Held like a query, so that a close() meanwhile waits for the transaction to end.
    if (any) await holding(current, (l) => addFiles(l, added));
    state = nextState;
    return { changed: any || changedState };
  }

  return {
    dir,
    get state() {
      return state;
    },
    get asOf() {
      return state?.exportedAt;
    },
    query: (sql, params) => use((db) => run(db, sql, params)),
    statementTypes: (sql) =>
      use(async (db) => {
        try {
          const statements = await db.extractStatements(sql);
          const types: StatementType[] = [];
          for (let i = 0; i < statements.count; i++) types.push((await statements.prepare(i)).statementType);
          return types;
        } catch (err) {
          throw new GateError(
            'INPUT_INVALID',
            `SQL does not parse: ${(err as Error).message.split('\n')[0]}`,
          );
        }
      }),
    refresh() {
      // One catch-up at a time: a caller arriving meanwhile waits for the one running.
      refreshing ??= catchUp().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    close() {
      closed = true;
      current.retired = true;
      if (current.running === 0) closeLoaded(current);
    },
  };
}

async function run(
  db: DuckDBConnection,
  sql: string,
  params?: Record<string, string | number | boolean | null>,
): Promise<QueryResult> {
  const reader = await db.runAndReadAll(sql, params);
  return {
    columns: reader.columnNames(),
    rows: reader.getRowObjectsJson() as Array<Record<string, unknown>>,
  };
}

/**
 * Runs one statement an auditor wrote, if it is a single SELECT (a query, a CTE, a
 * `FROM …` shorthand); anything else — COPY, CREATE, SET, ATTACH, two statements — is
 * INPUT_INVALID. File access is already limited to the export directory.
 */
export async function readOnlySql(model: ReadModel, sql: string): Promise<QueryResult> {
  const types = await model.statementTypes(sql);
  if (types.length !== 1) {
    throw new GateError('INPUT_INVALID', `one SELECT statement expected, got ${types.length} statements`);
  }
  if (types[0] !== StatementType.SELECT) {
    throw new GateError('INPUT_INVALID', `only SELECT is allowed, not ${StatementType[types[0]!]}`);
  }
  try {
    return await model.query(sql);
  } catch (err) {
    throw new GateError('INPUT_INVALID', `SQL failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * The read model opened for queries: DuckDB over the Parquet tables an export wrote
 * (export-parquet.ts), with derived views. Either as views over the files (one-shot
 * queries: `audit sql`) or loaded into memory (`load: true`: a long-lived server answering
 * many queries, and the bench). The same files load into a warehouse unchanged.
 */
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GateError } from '../../core/errors.ts';
import {
  EXPORT_STATE_FILE,
  hasParquet,
  parquetGlob,
  readExportState,
  type ExportState,
} from './export-parquet.ts';
import { createImpactTables } from './impact.ts';
import { TABLES, TABLE_NAMES } from './tables.ts';

/** Views derived from the tables, defined once here for every consumer of the read model. */
const DERIVED_VIEWS = {
  /** One row per publish: where the decision's artifact was published (from its `published` event). */
  publications: `SELECT decision_id,
      json_extract_string(data, '$.repository') AS repository,
      json_extract_string(data, '$.tag') AS tag,
      json_extract_string(data, '$.digest') AS digest,
      CAST(json_extract_string(data, '$.at') AS TIMESTAMPTZ) AS published_at,
      day
    FROM events WHERE to_status = 'published'`,
  /** Each attestation (or consumed VSA) digest a decision rests on, one row each. */
  decision_attestations: `SELECT decision_id, unnest(attestation_digests) AS attestation_digest FROM decisions`,
  /** Each dependency a decision's provenance recorded, one row each (impact analysis). */
  decision_dependencies: `SELECT u.decision_id, dep.uri, dep.sha256, dep.digests
    FROM decision_attestations u JOIN dependencies dep ON dep.attestation_digest = u.attestation_digest`,
  /** Each signing identity a decision's attestations carry (impact analysis). */
  decision_signers: `SELECT DISTINCT u.decision_id, a.signer_identity
    FROM decision_attestations u JOIN attestations a ON a.digest = u.attestation_digest
    WHERE a.signer_identity IS NOT NULL`,
  /**
   * Decision → decision edges through artifacts slsa-gate published: `downstream` recorded a
   * dependency whose sha256 is the artifact `upstream` published (and issued a VSA for).
   */
  dependency_edges: `SELECT p.decision_id AS upstream, d.decision_id AS downstream, p.digest
    FROM publications p JOIN decision_dependencies d ON d.sha256 = p.digest`,
  /** Decision counts per day and dimension (outcome, builder, failing code, failing check): day-range statistics. */
  daily_counts: `SELECT 'outcome' AS dimension, outcome AS key, day, count(*) AS count FROM decisions GROUP BY ALL
    UNION ALL SELECT 'builder', builder_id || coalesce('@' || builder_version, ''), day, count(*) FROM decisions GROUP BY ALL
    UNION ALL SELECT 'failing_code', code, day, count(*)
      FROM (SELECT unnest(failing_codes) AS code, day FROM decisions) GROUP BY ALL
    UNION ALL SELECT 'failing_check', check_id, day, count(*)
      FROM (SELECT unnest(failing_checks) AS check_id, day FROM decisions) GROUP BY ALL`,
  /**
   * The current status of each decision: the target of its newest event; of events stamped
   * alike, the later in the lifecycle (the lifecycle in src/archive/README.md).
   */
  decision_status: `SELECT decision_id,
      arg_max(to_status, epoch_us(occurred_at) * 10 + CASE to_status
        WHEN 'decided' THEN 0 WHEN 'awaiting-approval' THEN 1 WHEN 'approved' THEN 2 ELSE 3 END) AS status,
      max(occurred_at) AS status_at
    FROM events GROUP BY decision_id`,
  /** Published releases with the decision they rest on. */
  releases: `SELECT p.repository, p.tag, p.digest, p.published_at, d.*
    EXCLUDE (repository, tag, day), d.day
    FROM publications p JOIN decisions d USING (decision_id)`,
} as const;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** A query's answer: column names and rows as JSON values (64-bit integers as strings). */
export interface QueryResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/** The read model of one export directory. */
export interface ReadModel {
  dir: string;
  /** The export's state: `exportedAt` is how fresh the model is. */
  state: ExportState | undefined;
  /** Runs SQL the caller wrote (internal queries; user SQL goes through `readOnlySql`). */
  query(sql: string, params?: Record<string, string | number | boolean | null>): Promise<QueryResult>;
  /** The type of each statement in `sql`, bound against the model (INPUT_INVALID when it does not parse or bind). */
  statementTypes(sql: string): Promise<StatementType[]>;
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

/** Opens the read model of `dir` (READ_MODEL_MISSING when there is none); `load` copies the tables into memory. */
export async function openReadModel(dirArg: string, options: { load?: boolean } = {}): Promise<ReadModel> {
  const dir = resolve(dirArg);
  const state = exportedState(dir);
  // DuckDB lets every query read its temp directory whatever allowed_directories says, and an
  // in-memory database's default is `.tmp` under the working directory, where anything may lie.
  // Its own directory (mode 0700, made here) holds nothing but what DuckDB spills into it.
  const spill = mkdtempSync(join(tmpdir(), 'slsa-gate-duckdb-'));
  const removeSpill = () => rmSync(spill, { recursive: true, force: true });
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(':memory:', { threads: '2', temp_directory: spill });
  } catch (err) {
    removeSpill();
    throw err;
  }
  const db = await instance.connect();
  try {
    for (const table of TABLE_NAMES) {
      const columns: Record<string, string> = TABLES[table].columns;
      const source = hasParquet(dir, table)
        ? `SELECT ${Object.keys(columns).join(', ')} FROM read_parquet(${sqlString(parquetGlob(dir, table))}, hive_partitioning = true, hive_types = {'day': VARCHAR})`
        : `SELECT ${Object.entries(columns)
            .map(([name, type]) => `NULL::${type} AS ${name}`)
            .join(', ')} WHERE false`;
      const time = Object.keys(columns).find((c) => columns[c] === 'TIMESTAMPTZ');
      await db.run(
        options.load
          ? `CREATE TABLE ${table} AS ${source}${time ? ` ORDER BY ${time}` : ''}`
          : `CREATE VIEW ${table} AS ${source}`,
      );
    }
    for (const [name, sql] of Object.entries(DERIVED_VIEWS)) {
      await db.run(options.load ? `CREATE TABLE ${name} AS ${sql}` : `CREATE VIEW ${name} AS ${sql}`);
    }
    if (options.load) {
      // Point lookups (show, by digest) by index instead of a scan of every decision.
      await db.run('CREATE INDEX decisions_id ON decisions (decision_id)');
      await db.run('CREATE INDEX decisions_digest ON decisions (artifact_digest)');
      await createImpactTables((sql, params) => run(db, sql, params));
    }
    // From here on only the export directory (and the private spill directory) is readable,
    // and nothing may change that.
    await db.run(`SET allowed_directories = [${sqlString(dir + '/')}]`);
    await db.run('SET enable_external_access = false');
    await db.run('SET lock_configuration = true');
  } catch (err) {
    db.closeSync();
    instance.closeSync();
    removeSpill();
    throw err;
  }
  return {
    dir,
    state,
    query: (sql, params) => run(db, sql, params),
    async statementTypes(sql) {
      try {
        const statements = await db.extractStatements(sql);
        const types: StatementType[] = [];
        for (let i = 0; i < statements.count; i++) types.push((await statements.prepare(i)).statementType);
        return types;
      } catch (err) {
        throw new GateError('INPUT_INVALID', `SQL does not parse: ${(err as Error).message.split('\n')[0]}`);
      }
    },
    close() {
      db.closeSync();
      instance.closeSync();
      removeSpill();
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

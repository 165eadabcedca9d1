/**
 * Impact analysis (`slsa-gate audit impact`): which releases relied on a dependency, a
 * builder (version), a source repository (commit), a signing identity or a policy —
 * directly, or transitively through artifacts slsa-gate published and that others then used
 * as dependencies (each such artifact carries the VSA slsa-gate issued for it, which is how
 * the depending publish proved its level).
 *
 * Inputs are normalised the way the policy compares them: `github.com/o/r`,
 * `https://github.com/o/r` and `git+https://github.com/o/r` are one repository
 * (slsa-verifier NormalizeGitURI); `builder@v1` is id and version, and a version matches
 * `v1` or `refs/tags/v1` (slsa-verifier MatchesLoose); `--since` is read as everywhere (archive/audit-time.ts).
 */
import * as z from 'zod';
import { GateError } from '../../core/errors.ts';
import { gitUriFromHttps, normaliseExpectedSourceUri } from '../../core/provenance/git-uri.ts';
import { AuditTimeSchema } from '../../archive/audit-time.ts';
import { DecisionStatusSchema } from '../../archive/lifecycle.ts';
import type { QueryResult, ReadModel } from './read-model.ts';

export const ImpactQuerySchema = z
  .strictObject({
    dependency: z.string().min(1).optional(),
    builder: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    signer: z.string().min(1).optional(),
    policy: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>')
      .optional(),
    /** Decision statuses to list; default: published releases only. */
    status: z.array(DecisionStatusSchema).min(1).default(['published']),
    /** Decided at or after: a date (that UTC day's start) or an instant (archive/audit-time.ts). */
    since: AuditTimeSchema.optional(),
  })
  .refine(
    (q) =>
      [q.dependency, q.builder, q.source, q.signer, q.policy].filter((v) => v !== undefined).length === 1,
    'give exactly one of dependency, builder, source, signer, policy',
  );
export type ImpactQuery = z.input<typeof ImpactQuerySchema>;

/** A source repository as the policy compares it, and the commit after `@`, if any. */
export function normaliseSource(value: string): { repo: string; commit?: string } {
  const at = value.lastIndexOf('@');
  const [repoPart, commit] = at > 0 ? [value.slice(0, at), value.slice(at + 1)] : [value, undefined];
  const repo = repoPart.startsWith('https://')
    ? gitUriFromHttps(repoPart)
    : normaliseExpectedSourceUri(repoPart.replace(/\/+$/, ''));
  return commit ? { repo, commit } : { repo };
}

/** `name@version` → id and version (a builder id has at most one `@`, slsa-verifier ParseBuilderID). */
export function normaliseBuilder(value: string): { id: string; version?: string } {
  const parts = value.split('@');
  if (parts.length > 2 || parts[0] === '' || parts[1] === '') {
    throw new GateError('INPUT_INVALID', `--builder ${value} is not id[@version]`);
  }
  const version = parts[1]?.replace(/^refs\/tags\//, '');
  return version ? { id: parts[0]!, version } : { id: parts[0]! };
}

/**
 * A dependency as recorded in provenance: a URI or purl, with an optional `@sha256:<hex>`
 * digest; a bare `sha256:<hex>` matches by digest alone. Git URIs are normalised like sources.
 */
export function normaliseDependency(value: string): { uri?: string; digest?: string } {
  const digestMatch = /^(?:(.*)@)?(sha256:[0-9a-fA-F]{64})$/.exec(value);
  const uriPart = digestMatch ? digestMatch[1] : value;
  const digest = digestMatch?.[2]?.toLowerCase();
  if (uriPart === undefined || uriPart === '') {
    if (!digest) throw new GateError('INPUT_INVALID', `--dependency ${value} names nothing`);
    return { digest };
  }
  const uri =
    uriPart.startsWith('pkg:') ||
    (/^[a-z][a-z0-9+.-]*:\/\//.test(uriPart) && !uriPart.startsWith('https://github.com/'))
      ? uriPart
      : /^(https:\/\/)?github\.com\//.test(uriPart) || uriPart.startsWith('git+')
        ? normaliseSource(uriPart).repo
        : uriPart;
  return digest ? { uri, digest } : { uri };
}

/** Runs SQL on the read model's connection (`ReadModel.query`, or the loader's own). */
export type RunSql = (sql: string, params?: Record<string, string | number>) => Promise<QueryResult>;

/**
 * The side tables impact analysis answers from, compact and numbered so that a question reads
 * only the rows of its subject (docs/audit.md#impact-side-tables). Each "uses" row carries its
 * decision's `decided_at` and current `status`, so that counting, filtering and ordering the
 * affected decisions touches no per-decision table of a million rows:
 *
 * - `impact_decisions`: one row per decision, `decision_no` in (`decided_at`, `decision_id`)
 *   order, and its current status (from `decision_status`);
 * - `impact_subjects`: each distinct policy digest, builder (id, version), source repository
 *   and signing identity, numbered;
 * - `impact_subject_uses`: subject → decision (its policy, builder, source with the commit,
 *   and each identity that signed an attestation it rests on);
 * - `impact_dependencies`: each distinct recorded dependency (uri, digests), numbered;
 * - `impact_dependency_keys`: every string `--dependency` may name a dependency by (its uri,
 *   the uri up to each `@`, each digest) → dependency; the exact match is then checked on
 *   `impact_dependencies` with the same predicate as the recorded rows;
 * - `impact_dependency_uses`: dependency → decision that recorded it;
 * - `impact_edges`: decision → decision through an artifact slsa-gate published (`digest`)
 *   that the downstream decision recorded as a dependency (with the downstream's time and status);
 * - `impact_marks`: how many rows of each base table the side tables cover, so that
 *   `refreshImpactTables` reads only rows appended since.
 */
const SIDE_TABLES = {
  impact_decisions: 'decision_no INTEGER, decision_id VARCHAR, decided_at TIMESTAMPTZ, status VARCHAR',
  impact_subjects: 'subject_no INTEGER, kind VARCHAR, value VARCHAR, version VARCHAR',
  impact_subject_uses: `subject_no INTEGER, decision_no INTEGER, decided_at TIMESTAMPTZ, status VARCHAR,
    source_commit VARCHAR`,
  impact_dependencies: 'dependency_no INTEGER, uri VARCHAR, digests VARCHAR[], sha256 VARCHAR',
  impact_dependency_keys: 'key VARCHAR, dependency_no INTEGER',
  impact_dependency_uses:
    'dependency_no INTEGER, decision_no INTEGER, decided_at TIMESTAMPTZ, status VARCHAR',
  impact_edges: `upstream_no INTEGER, downstream_no INTEGER, digest VARCHAR, decided_at TIMESTAMPTZ,
    status VARCHAR`,
  impact_marks: 'base_table VARCHAR, covered BIGINT',
} as const;

/** The side tables that carry each decision's status, by the column holding its number. */
const STATUS_CARRIERS = {
  impact_decisions: 'decision_no',
  impact_subject_uses: 'decision_no',
  impact_dependency_uses: 'decision_no',
  impact_edges: 'downstream_no',
} as const;

/** The base tables the side tables are made from; rows are appended, never changed. */
const BASE_TABLES = ['decisions', 'attestations', 'dependencies', 'events'] as const;

/**
 * Builds the side tables from everything loaded (the read-model loader calls this once the
 * tables and derived views are loaded; `impactOf` calls it on a model opened without them).
 */
export async function createImpactTables(sql: RunSql): Promise<void> {
  for (const [name, columns] of Object.entries(SIDE_TABLES)) await sql(`CREATE TABLE ${name} (${columns})`);
  for (const table of BASE_TABLES) await sql(`INSERT INTO impact_marks VALUES ('${table}', 0)`);
  await addRows(sql, false);
}

/**
 * Brings the side tables up to date with rows appended to the base tables since they were
 * built or last refreshed (a loaded model's `refresh()` calls this after appending the new
 * files' rows and bringing `decision_status` and `publications` up to date; a model reloaded
 * from scratch calls `createImpactTables` instead).
 */
export async function refreshImpactTables(sql: RunSql): Promise<void> {
  await addRows(sql, true);
}

async function addRows(sql: RunSql, refresh: boolean): Promise<void> {
  const covered = Object.fromEntries(
    (await sql('SELECT base_table, covered FROM impact_marks')).rows.map((r) => [
      r.base_table,
      Number(r.covered),
    ]),
  );
  // The rows of a base table the side tables do not cover yet (append-only: by rowid).
  const fresh = (table: (typeof BASE_TABLES)[number]) =>
    refresh ? `(SELECT * FROM ${table} WHERE rowid >= ${covered[table]})` : table;
  const next = (column: string, table: string) => `(SELECT coalesce(max(${column}), 0) FROM ${table})`;

  if (refresh) {
    // A status changes with each new event of an earlier decision: every copy of it follows.
    await sql(`CREATE OR REPLACE TEMP TABLE impact_changed AS
      SELECT d.decision_no, s.status FROM impact_decisions d JOIN decision_status s USING (decision_id)
      WHERE d.decision_id IN (SELECT decision_id FROM ${fresh('events')}) AND s.status IS DISTINCT FROM d.status`);
    for (const [table, column] of Object.entries(STATUS_CARRIERS)) {
      await sql(
        `UPDATE ${table} SET status = c.status FROM impact_changed c WHERE ${table}.${column} = c.decision_no`,
      );
    }
    await sql('DROP TABLE impact_changed');
  }
  await sql(`INSERT INTO impact_subjects
    SELECT ${next('subject_no', 'impact_subjects')} + row_number() OVER (ORDER BY kind, value, version), *
    FROM (
      SELECT 'policy' AS kind, policy_digest AS value, NULL::VARCHAR AS version FROM ${fresh('decisions')} WHERE policy_digest IS NOT NULL
      UNION SELECT 'builder', builder_id, builder_version FROM ${fresh('decisions')} WHERE builder_id IS NOT NULL
      UNION SELECT 'source', source_repo, NULL FROM ${fresh('decisions')} WHERE source_repo IS NOT NULL
      UNION SELECT 'signer', signer_identity, NULL FROM ${fresh('attestations')} WHERE signer_identity IS NOT NULL
    ) n
    WHERE NOT EXISTS (SELECT 1 FROM impact_subjects s
      WHERE s.kind = n.kind AND s.value = n.value AND s.version IS NOT DISTINCT FROM n.version)`);
  const firstNewDecision = Number(
    (await sql('SELECT coalesce(max(decision_no), 0) + 1 AS n FROM impact_decisions')).rows[0]!.n,
  );
  await sql(`INSERT INTO impact_decisions
    SELECT ${firstNewDecision - 1} + row_number() OVER (ORDER BY d.decided_at, d.decision_id),
      d.decision_id, d.decided_at, st.status
    FROM ${fresh('decisions')} d LEFT JOIN decision_status st USING (decision_id)
    ORDER BY d.decided_at, d.decision_id`);
  const newDecisions = `(SELECT * FROM impact_decisions WHERE decision_no >= ${firstNewDecision})`;

  // Decision → attestation pairs not covered yet: new decisions, and earlier decisions that
  // name an attestation exported after them.
  const newPairs = `(
    SELECT decision_id, unnest(attestation_digests) AS attestation_digest FROM ${fresh('decisions')}
    ${
      refresh
        ? `UNION SELECT decision_id, attestation_digest
             FROM (SELECT decision_id, unnest(attestation_digests) AS attestation_digest FROM decisions)
             WHERE attestation_digest IN (SELECT digest FROM ${fresh('attestations')})`
        : ''
    })`;
  await sql(`INSERT INTO impact_subject_uses
    SELECT s.subject_no, d.decision_no, d.decided_at, d.status, NULL FROM (
      SELECT decision_id, 'policy' AS kind, policy_digest AS value, NULL AS version FROM ${fresh('decisions')}
      UNION ALL SELECT decision_id, 'builder', builder_id, builder_version FROM ${fresh('decisions')}
    ) n
    JOIN impact_subjects s ON s.kind = n.kind AND s.value = n.value AND s.version IS NOT DISTINCT FROM n.version
    JOIN ${newDecisions} d USING (decision_id)
    UNION ALL
    SELECT s.subject_no, d.decision_no, d.decided_at, d.status, n.source_commit FROM ${fresh('decisions')} n
    JOIN impact_subjects s ON s.kind = 'source' AND s.value = n.source_repo
    JOIN ${newDecisions} d USING (decision_id)
    UNION ALL
    SELECT DISTINCT s.subject_no, d.decision_no, d.decided_at, d.status, NULL
    FROM ${newPairs} u
    JOIN attestations a ON a.digest = u.attestation_digest
    JOIN impact_subjects s ON s.kind = 'signer' AND s.value = a.signer_identity
    JOIN impact_decisions d ON d.decision_id = u.decision_id
    ORDER BY 1, 2`);

  const firstNewDependency = Number(
    (await sql('SELECT coalesce(max(dependency_no), 0) + 1 AS n FROM impact_dependencies')).rows[0]!.n,
  );
  await sql(`INSERT INTO impact_dependencies
    SELECT ${firstNewDependency - 1} + row_number() OVER (ORDER BY uri, digests), *
    FROM (SELECT DISTINCT uri, digests, sha256 FROM ${fresh('dependencies')}) n
    WHERE NOT EXISTS (SELECT 1 FROM impact_dependencies x
      WHERE x.uri IS NOT DISTINCT FROM n.uri AND x.digests = n.digests)`);
  // `--dependency U` matches a recorded uri equal to U or starting with `U@` (a version or
  // ref after `@`): so each uri is looked up by itself and by its text before each `@`.
  await sql(`INSERT INTO impact_dependency_keys
    SELECT DISTINCT key, dependency_no FROM (
      SELECT uri AS key, dependency_no FROM impact_dependencies WHERE uri IS NOT NULL
      UNION ALL SELECT unnest(list_transform(range(1, len(string_split(uri, '@'))),
          i -> array_to_string(string_split(uri, '@')[1:i], '@'))), dependency_no
        FROM impact_dependencies WHERE uri IS NOT NULL
      UNION ALL SELECT unnest(digests), dependency_no FROM impact_dependencies
    ) WHERE dependency_no >= ${firstNewDependency}
    ORDER BY key`);
  const firstNewUse = Number((await sql('SELECT count(*) AS n FROM impact_dependency_uses')).rows[0]!.n);
  const newDependencyRows = refresh
    ? `SELECT attestation_digest, uri, digests FROM ${fresh('dependencies')}`
    : 'SELECT NULL AS attestation_digest, NULL AS uri, NULL AS digests WHERE false';
  await sql(`INSERT INTO impact_dependency_uses
    SELECT DISTINCT x.dependency_no, d.decision_no, d.decided_at, d.status FROM (
      SELECT u.decision_id, dep.uri, dep.digests FROM ${newPairs} u
        JOIN dependencies dep ON dep.attestation_digest = u.attestation_digest
      UNION ALL SELECT u.decision_id, dep.uri, dep.digests
        FROM (SELECT decision_id, unnest(attestation_digests) AS attestation_digest FROM decisions) u
        JOIN (${newDependencyRows}) dep ON dep.attestation_digest = u.attestation_digest
    ) n
    JOIN impact_dependencies x ON x.uri IS NOT DISTINCT FROM n.uri AND x.digests = n.digests
    JOIN impact_decisions d ON d.decision_id = n.decision_id
    ORDER BY x.dependency_no, d.decision_no`);

  // Edges through a publication: new publications against every use of their digest, and
  // every publication against the new uses.
  const newPublications = refresh
    ? `(SELECT decision_id, digest FROM publications
         WHERE decision_id IN (SELECT decision_id FROM ${fresh('events')} WHERE to_status = 'published')
            OR decision_id IN (SELECT decision_id FROM ${fresh('decisions')}))`
    : '(SELECT decision_id, digest FROM publications)';
  await sql(`INSERT INTO impact_edges
    SELECT DISTINCT up.decision_no, u.decision_no, p.digest, u.decided_at, u.status FROM ${newPublications} p
      JOIN impact_decisions up USING (decision_id)
      JOIN impact_dependencies x ON x.sha256 = p.digest
      JOIN impact_dependency_uses u USING (dependency_no)
    UNION
    SELECT up.decision_no, u.decision_no, p.digest, u.decided_at, u.status
      FROM (SELECT * FROM impact_dependency_uses WHERE rowid >= ${firstNewUse}) u
      JOIN impact_dependencies x USING (dependency_no)
      JOIN publications p ON p.digest = x.sha256
      JOIN impact_decisions up ON up.decision_id = p.decision_id`);

  for (const table of BASE_TABLES)
    await sql(
      `UPDATE impact_marks SET covered = (SELECT count(*) FROM ${table}) WHERE base_table = '${table}'`,
    );
}

/** Models known to hold the side tables: the check is a catalog query, made once per model. */
const withSideTables = new WeakSet<ReadModel>();

/** Builds the side tables on a model that lacks them (one opened as views over the files). */
async function ensureImpactTables(model: ReadModel): Promise<void> {
  if (withSideTables.has(model)) return;
  const found = await model.query(
    `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'impact_marks' AND NOT temporary`,
  );
  if (Number(found.rows[0]!.n) === 0) await createImpactTables((sql, params) => model.query(sql, params));
  withSideTables.add(model);
}

const intList = (values: number[]) => values.map((v) => String(Math.trunc(v))).join(', ');

/** The numbers of `subjects` of one kind matched by `where` (over `impact_subjects`). */
async function subjectNumbers(
  model: ReadModel,
  where: string,
  params: Record<string, string>,
): Promise<number[]> {
  const found = await model.query(`SELECT subject_no FROM impact_subjects WHERE ${where}`, params);
  return found.rows.map((r) => Number(r.subject_no));
}

/**
 * The query that selects the decisions relying on the subject directly (`decision_no`,
 * `decided_at`, `status`), or null when nothing can match. The subject is first resolved to
 * its few numbers, so that the uses tables (sorted by them) are read by a constant filter.
 */
async function directDecisions(
  model: ReadModel,
  q: z.output<typeof ImpactQuerySchema>,
): Promise<{ sql: string; params: Record<string, string> } | null> {
  const uses = (table: string, column: string, numbers: number[], extra = '') =>
    numbers.length === 0
      ? null
      : `SELECT decision_no, decided_at, status FROM ${table} WHERE ${column} IN (${intList(numbers)})${extra}`;
  const subjects = async (where: string, params: Record<string, string>, extra = '') => {
    const sql = uses('impact_subject_uses', 'subject_no', await subjectNumbers(model, where, params), extra);
    return sql === null ? null : { sql, params: {} };
  };
  if (q.policy) return subjects(`kind = 'policy' AND value = $policy`, { policy: q.policy });
  if (q.builder) {
    const b = normaliseBuilder(q.builder);
    return b.version
      ? subjects(
          `kind = 'builder' AND value = $id AND (version = $version OR version = 'refs/tags/' || $version)`,
          { id: b.id, version: b.version },
        )
      : subjects(`kind = 'builder' AND value = $id`, { id: b.id });
  }
  if (q.source) {
    const s = normaliseSource(q.source);
    const found = await subjects(
      `kind = 'source' AND value = $repo`,
      { repo: s.repo },
      s.commit === undefined ? '' : ' AND source_commit = $commit',
    );
    return found === null || s.commit === undefined ? found : { ...found, params: { commit: s.commit } };
  }
  if (q.signer) return subjects(`kind = 'signer' AND value = $signer`, { signer: q.signer });
  const dep = normaliseDependency(q.dependency!);
  const where: string[] = [];
  const params: Record<string, string> = { key: dep.uri ?? dep.digest! };
  if (dep.uri !== undefined) {
    // A recorded URI may carry a ref or version after `@` (`git+https://…@refs/heads/main`, `pkg:npm/x@1.0.0`).
    where.push(`(x.uri = $uri OR starts_with(x.uri, $uri || '@'))`);
    params.uri = dep.uri;
  }
  if (dep.digest !== undefined) {
    where.push('list_contains(x.digests, $digest)');
    params.digest = dep.digest;
  }
  const found = await model.query(
    `SELECT DISTINCT x.dependency_no FROM impact_dependency_keys k JOIN impact_dependencies x USING (dependency_no)
     WHERE k.key = $key AND ${where.join(' AND ')}`,
    params,
  );
  const sql = uses(
    'impact_dependency_uses',
    'dependency_no',
    found.rows.map((r) => Number(r.dependency_no)),
  );
  return sql === null ? null : { sql, params: {} };
}

/** Page size and position; `cursor` is the `nextCursor` of the previous page. */
export const ImpactPageSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});
export type ImpactPage = z.input<typeof ImpactPageSchema>;

/** One page of an impact answer: `total` affected releases, `rows` of this page (newest first). */
export interface ImpactResult extends QueryResult {
  total: number;
  nextCursor?: string;
}

const IMPACT_COLUMNS = [
  'repository',
  'tag',
  'digest',
  'decision_id',
  'status',
  'outcome',
  'decided_at',
  'published_at',
  'via',
];

/**
 * The keyset position after a row: its `decided_at` as the read model returns it and its
 * decision number (which follows the decision ids among decisions decided at one instant).
 */
const CursorSchema = z.tuple([
  z.string().regex(/^\d{4}-\d{2}-\d{2}[ T][0-9:.]+(Z|[+-]\d{2}(:?\d{2})?)?$/),
  z.number().int().min(1),
]);

function encodeCursor(decidedAt: string, decisionNo: number): string {
  return Buffer.from(JSON.stringify([decidedAt, decisionNo])).toString('base64url');
}

function decodeCursor(cursor: string): [string, number] {
  try {
    return CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new GateError('INPUT_INVALID', 'invalid impact page cursor', { detail: { cursor } });
  }
}

/**
 * The releases (decisions in the given statuses) that relied on the subject, directly or
 * through artifacts slsa-gate published that they depend on, newest first (then by decision
 * id), one page at a time: `total` counts every affected decision. `via` is the artifact
 * digest an indirect one depended on (null for direct). Answered from the side tables
 * (`createImpactTables`), built on first use when the model was opened without them.
 */
export async function impactOf(
  model: ReadModel,
  query: ImpactQuery,
  page: ImpactPage = {},
): Promise<ImpactResult> {
  const parsed = ImpactQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new GateError('INPUT_INVALID', `invalid impact query:\n${z.prettifyError(parsed.error)}`);
  const pageParsed = ImpactPageSchema.safeParse(page);
  if (!pageParsed.success)
    throw new GateError('INPUT_INVALID', `invalid impact page:\n${z.prettifyError(pageParsed.error)}`);
  const q = parsed.data;
  const { limit, cursor } = pageParsed.data;
  const since = q.since;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  await ensureImpactTables(model);

  const direct = await directDecisions(model, q);
  if (direct === null) return { columns: IMPACT_COLUMNS, rows: [], total: 0 };
  const params: Record<string, string | number> = { ...direct.params };
  const statuses = q.status.map((s, i) => {
    params[`status${i}`] = s;
    return `$status${i}`;
  });
  const where = [`status IN (${statuses.join(', ')})`];
  if (since !== undefined) {
    where.push('decided_at >= CAST($since AS TIMESTAMPTZ)');
    params.since = since;
  }
  let keyset = '';
  if (after !== undefined) {
    keyset = `WHERE decided_at < CAST($afterAt AS TIMESTAMPTZ)
      OR (decided_at = CAST($afterAt AS TIMESTAMPTZ) AND decision_no > $afterNo)`;
    params.afterAt = after[0];
    params.afterNo = after[1];
  }
  // Affected decisions: the direct ones, then every decision with a dependency whose digest is
  // the artifact of an affected decision that was published (and so carries our VSA). Only the
  // direct decisions with an edge out start the recursion; UNION keeps each (decision, via)
  // once, so a loop of dependencies ends. `via`: the least artifact a decision was reached
  // through (null when only direct).
  const matched = await model.query(
    `WITH RECURSIVE
       direct AS MATERIALIZED (${direct.sql}),
       reached(decision_no, via, decided_at, status) AS (
         SELECT downstream_no, digest, decided_at, status FROM impact_edges
         WHERE upstream_no IN (SELECT decision_no FROM direct)
         UNION
         SELECT e.downstream_no, e.digest, e.decided_at, e.status
         FROM reached r JOIN impact_edges e ON e.upstream_no = r.decision_no
       ),
       affected AS (
         SELECT decision_no, decided_at, status, min(via) AS via FROM (
           SELECT decision_no, NULL::VARCHAR AS via, decided_at, status FROM direct
           UNION ALL SELECT decision_no, via, decided_at, status FROM reached
         ) GROUP BY decision_no, decided_at, status
       ),
       matched AS (SELECT *, count(*) OVER () AS total FROM affected WHERE ${where.join(' AND ')}),
       page AS (SELECT * FROM matched ${keyset} ORDER BY decided_at DESC, decision_no LIMIT ${limit + 1})
     SELECT page.*, i.decision_id FROM page JOIN impact_decisions i USING (decision_no)
     ORDER BY decided_at DESC, decision_no`,
    params,
  );
  const total = Number(matched.rows[0]?.total ?? 0);
  const pageRows = matched.rows.slice(0, limit);
  if (pageRows.length === 0) return { columns: IMPACT_COLUMNS, rows: [], total };
  // Where each decision on the page was published: the page's ids as constants in the scans,
  // and its time range, so that the row groups of other times are skipped (decisions are
  // loaded in `decided_at` order, publications in event order; a publication is stamped after
  // its decision, a day's margin for clocks that disagree).
  const literal = (value: unknown) => `'${String(value).replaceAll("'", "''")}'`;
  const idList = pageRows.map((r) => literal(r.decision_id)).join(', ');
  const details = await model.query(
    `SELECT coalesce(p.repository, d.repository) AS repository, coalesce(p.tag, d.tag) AS tag,
       coalesce(p.digest, d.artifact_digest) AS digest, d.decision_id, d.outcome, p.published_at
     FROM decisions d LEFT JOIN (
       SELECT * FROM publications
       WHERE day >= strftime(CAST(${literal(pageRows.at(-1)!.decided_at)} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' - INTERVAL 1 DAY, '%Y-%m-%d')
         AND decision_id IN (${idList})
     ) p USING (decision_id)
     WHERE d.decided_at BETWEEN CAST(${literal(pageRows.at(-1)!.decided_at)} AS TIMESTAMPTZ)
         AND CAST(${literal(pageRows[0]!.decided_at)} AS TIMESTAMPTZ)
       AND d.decision_id IN (${idList})`,
  );
  const byId = new Map<string, Array<Record<string, unknown>>>();
  for (const r of details.rows)
    byId.set(String(r.decision_id), [...(byId.get(String(r.decision_id)) ?? []), r]);
  const rows = pageRows.flatMap((m) =>
    (byId.get(String(m.decision_id)) ?? []).map((r) => ({
      repository: r.repository,
      tag: r.tag,
      digest: r.digest,
      decision_id: m.decision_id,
      status: m.status,
      outcome: r.outcome,
      decided_at: m.decided_at,
      published_at: r.published_at,
      via: m.via,
    })),
  );
  const last = pageRows.at(-1)!;
  return matched.rows.length > limit
    ? {
        columns: IMPACT_COLUMNS,
        rows,
        total,
        nextCursor: encodeCursor(String(last.decided_at), Number(last.decision_no)),
      }
    : { columns: IMPACT_COLUMNS, rows, total };
}

/** Every page of `impactOf`, as one answer. */
export async function impact(model: ReadModel, query: ImpactQuery): Promise<ImpactResult> {
  const first = await impactOf(model, query, { limit: 1000 });
  const rows = [...first.rows];
  let cursor = first.nextCursor;
  while (cursor !== undefined) {
    const next = await impactOf(model, query, { limit: 1000, cursor });
    rows.push(...next.rows);
    cursor = next.nextCursor;
  }
  return { columns: first.columns, rows, total: first.total };
}

/**
 * The auditors' list and stats queries (src/archive/queries.ts) over the read model: the
 * same filters (AuditFiltersSchema), answered by DuckDB instead of the store. Rows are the
 * read model's, so they are as fresh as the export (`ReadModel.state.exportedAt`).
 */
import * as z from 'zod';
import { AuditFiltersSchema, type AuditFilters } from '../../archive/audit-filters.ts';
import { GateError } from '../../core/errors.ts';
import type { QueryResult, ReadModel } from './read-model.ts';

type Params = Record<string, string | number | boolean | null>;

/** A timestamp literal: planned as a constant, so the scan of `decisions` (kept sorted by it) skips row groups. */
const instant = (ms: number) => `TIMESTAMPTZ '${new Date(ms).toISOString()}'`;

function parseFilters(filters: AuditFilters) {
  const parsed = AuditFiltersSchema.safeParse(filters);
  if (!parsed.success)
    throw new GateError('INPUT_INVALID', `invalid filters:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The conditions over `decisions d` for `filters`, with their parameters. */
function filterConditions(filters: AuditFilters): { conditions: string[]; params: Params } {
  const f = parseFilters(filters);
  const where: string[] = [];
  const params: Params = {};
  const eq = (column: string, name: string, value: string | undefined) => {
    if (value === undefined) return;
    where.push(`${column} = $${name}`);
    params[name] = value;
  };
  eq('d.artifact_digest', 'digest', f.artifactDigest);
  eq('d.repository', 'repository', f.repository);
  eq('d.tag', 'tag', f.tag);
  eq('d.builder_id', 'builder', f.builderId);
  eq('d.builder_version', 'builderVersion', f.builderVersion);
  eq('d.source_repo', 'sourceRepo', f.sourceRepo);
  eq('d.source_commit', 'sourceCommit', f.sourceCommit);
  eq('d.outcome', 'outcome', f.outcome);
  eq('d.policy_digest', 'policy', f.policyDigest);
  if (f.status !== undefined) {
    where.push('d.decision_id IN (SELECT decision_id FROM decision_status WHERE status = $status)');
    params.status = f.status;
  }
  if (f.failingCode !== undefined) {
    where.push('list_contains(d.failing_codes, $failingCode)');
    params.failingCode = f.failingCode;
  }
  if (f.failingCheck !== undefined) {
    where.push('list_contains(d.failing_checks, $failingCheck)');
    params.failingCheck = f.failingCheck;
  }
  if (f.withException !== undefined)
    where.push(f.withException ? 'd.exception_count > 0' : 'd.exception_count = 0');
  if (f.approver !== undefined) {
    where.push('d.decision_id IN (SELECT decision_id FROM approvals WHERE approver = $approver)');
    params.approver = f.approver;
  }
  // Validated ISO-8601 instants, compared as the store compares them (to the millisecond).
  if (f.since !== undefined) where.push(`d.decided_at >= ${instant(Date.parse(f.since))}`);
  if (f.until !== undefined) where.push(`d.decided_at < ${instant(Date.parse(f.until))}`);
  return { conditions: where, params };
}

/** The WHERE clause over `decisions d` (and its status `s`) for `filters`, with its parameters. */
export function filterSql(filters: AuditFilters): { where: string; params: Params } {
  const { conditions, params } = filterConditions(filters);
  return { where: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

/** The filters a `daily_counts` dimension counts (docs/audit.md#daily_counts). */
const COUNTED_FILTERS = {
  outcome: 'outcome',
  builderId: 'builder_id',
  builderVersion: 'builder_version',
  sourceRepo: 'source_repo',
  repository: 'repository',
  policyDigest: 'policy_digest',
  failingCode: 'failing_code',
  failingCheck: 'failing_check',
  approver: 'approver',
} as const satisfies Partial<Record<keyof AuditFilters, string>>;

const DAY_MS = 24 * 3600 * 1000;

/** The columns of a listed decision. */
const LIST_COLUMNS = `d.decided_at, d.outcome, d.repository, d.tag, d.artifact_digest, d.builder_id,
  d.builder_version, d.failing_codes, d.decision_id`;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

/**
 * The days (newest first) on which decisions matching `f` may lie, each with at most how
 * many: per filter that `daily_counts` counts, that day's count; a day lacking any of them
 * holds no match. Between `fromDay` and `toDay` (inclusive) when given.
 */
async function candidateDays(
  model: ReadModel,
  f: AuditFilters,
  fromDay: string | undefined,
  toDay: string | undefined,
): Promise<Array<{ day: string; count: number }>> {
  const keys: Array<[string, string]> = [['all', '']];
  for (const [filter, dimension] of Object.entries(COUNTED_FILTERS)) {
    const value = f[filter as keyof typeof COUNTED_FILTERS];
    if (value !== undefined) keys.push([dimension, value]);
  }
  const params: Params = {};
  const match = keys.map(([dimension, key], i) => {
    params[`dim${i}`] = dimension;
    params[`key${i}`] = key;
    return `(dimension = $dim${i} AND key = $key${i})`;
  });
  const range: string[] = [];
  if (fromDay !== undefined) {
    range.push('day >= $fromDay');
    params.fromDay = fromDay;
  }
  if (toDay !== undefined) {
    range.push('day <= $toDay');
    params.toDay = toDay;
  }
  const result = await model.query(
    `SELECT day, min(n) AS count FROM (
       SELECT dimension, key, day, sum(count) AS n FROM daily_counts
       WHERE (${match.join(' OR ')}) ${range.map((r) => `AND ${r}`).join(' ')} GROUP BY ALL)
     GROUP BY day HAVING count(*) = ${keys.length} ORDER BY day DESC`,
    params,
  );
  return result.rows.map((r) => ({ day: String(r.day), count: Number(r.count) }));
}

/**
 * A page of decisions matching `filters`, newest first; `after` is the last row of the
 * previous page (its `decided_at` and `decision_id` as a page returned them).
 *
 * Read the newest days first: `daily_counts` says on which days matches can lie and at most
 * how many, so the query reads only the newest days that can fill the page (`decisions` is
 * kept sorted by `decided_at`, so a time range reads only the row groups it covers), and
 * reads further back only if those held fewer matches than their counts allowed. A digest
 * is looked up by its index instead.
 */
export async function listDecisionRows(
  model: ReadModel,
  filters: AuditFilters,
  page: { limit?: number; after?: { decidedAt: string; decisionId: string } } = {},
): Promise<QueryResult> {
  const f = parseFilters(filters);
  const { conditions, params } = filterConditions(f);
  const limit = page.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1)
    throw new GateError('INPUT_INVALID', `page limit ${limit} is not a positive integer`);
  let newestDay = f.until === undefined ? undefined : dayOf(Date.parse(f.until) - 1);
  if (page.after) {
    const afterDay = /^(\d{4}-\d{2}-\d{2})[T ]/.exec(page.after.decidedAt)?.[1];
    if (afterDay === undefined || Number.isNaN(dayStart(afterDay)))
      throw new GateError(
        'INPUT_INVALID',
        `page cursor time ${page.after.decidedAt} is not an ISO-8601 instant`,
      );
    conditions.push(`(d.decided_at, d.decision_id) < (CAST($afterAt AS TIMESTAMPTZ), $afterId)`);
    params.afterAt = page.after.decidedAt;
    params.afterId = page.after.decisionId;
    // The cursor's own time zone may put it on the next UTC day: one day of slack.
    const cursorDay = dayOf(dayStart(afterDay) + DAY_MS);
    conditions.push(`d.decided_at < ${instant(dayStart(cursorDay) + DAY_MS)}`);
    if (newestDay === undefined || cursorDay < newestDay) newestDay = cursorDay;
  }
  const oldestDay = f.since === undefined ? undefined : dayOf(Date.parse(f.since));
  const select = (window: string[]) =>
    model.query(
      `SELECT ${LIST_COLUMNS}
       FROM decisions d WHERE ${[...conditions, ...window].join(' AND ') || 'true'}
       ORDER BY d.decided_at DESC, d.decision_id DESC LIMIT ${limit}`,
      params,
    );
  if (f.artifactDigest !== undefined) {
    // Materialised first, so that the top-N's filter on decided_at does not reach the scan,
    // which then looks the digest up in its index.
    return model.query(
      `WITH m AS MATERIALIZED (SELECT * FROM decisions d WHERE ${conditions.join(' AND ')})
       SELECT ${LIST_COLUMNS.replaceAll('d.', '')} FROM m ORDER BY decided_at DESC, decision_id DESC LIMIT ${limit}`,
      params,
    );
  }
  const days = await candidateDays(model, f, oldestDay, newestDay);
  if (days.length === 0) return select(['false']);
  // The window's bounds come from `day` (the UTC day of decided_at); a day of slack either
  // side keeps them right for an instant recorded with an offset.
  const through = `d.decided_at < ${instant(dayStart(days[0]!.day) + 2 * DAY_MS)}`;
  let taken = 0;
  let possible = 0;
  for (;;) {
    // Widen to the days that may hold the page, then twice as many matches each round.
    const wanted = Math.max(limit, 2 * possible);
    while (taken < days.length && possible < wanted) possible += days[taken++]!.count;
    const from = `d.decided_at >= ${instant(dayStart(days[taken - 1]!.day) - DAY_MS)}`;
    const rows = await select([from, through]);
    if (rows.rows.length >= limit || taken === days.length) return rows;
  }
}

/** One decision's row, looked up by its index. */
export async function showDecisionRow(model: ReadModel, decisionId: string): Promise<QueryResult> {
  return model.query('SELECT * FROM decisions WHERE decision_id = $id', { id: decisionId });
}

const startOfDay = (iso: string | undefined) => iso === undefined || /T00:00:00(\.0+)?(Z|\+00:00)$/.test(iso);

/** Counts of the matching decisions by outcome, builder, failing code, failing check and day (server-side GROUP BY). */
export async function decisionStatsRows(model: ReadModel, filters: AuditFilters): Promise<QueryResult> {
  const { where, params } = filterSql(filters);
  // Whole days and no other filter: summed from the per-day counts instead of every decision.
  const onlyDays = Object.keys(filters).every((k) => k === 'since' || k === 'until');
  if (onlyDays && startOfDay(filters.since) && startOfDay(filters.until)) {
    const days: string[] = [];
    const dayParams: Record<string, string> = {};
    if (filters.since !== undefined) {
      days.push('day >= $sinceDay');
      dayParams.sinceDay = filters.since.slice(0, 10);
    }
    if (filters.until !== undefined) {
      days.push('day < $untilDay');
      dayParams.untilDay = filters.until.slice(0, 10);
    }
    const inDays = days.map((d) => `AND ${d}`).join(' ');
    return model.query(
      `SELECT dimension, key, sum(count) AS count FROM daily_counts
         WHERE dimension IN ('outcome', 'builder', 'failing_code', 'failing_check') ${inDays} GROUP BY ALL
       UNION ALL SELECT 'day', day, sum(count) FROM daily_counts WHERE dimension = 'all' ${inDays} GROUP BY ALL
       ORDER BY dimension, count DESC, key`,
      dayParams,
    );
  }
  return model.query(
    `WITH m AS (SELECT * FROM decisions d ${where})
     SELECT 'outcome' AS dimension, outcome AS key, count(*) AS count FROM m GROUP BY ALL
     UNION ALL SELECT 'builder', builder_id || coalesce('@' || builder_version, ''), count(*) FROM m GROUP BY ALL
     UNION ALL SELECT 'failing_code', code, count(*) FROM (SELECT unnest(failing_codes) AS code FROM m) GROUP BY ALL
     UNION ALL SELECT 'failing_check', check_id, count(*) FROM (SELECT unnest(failing_checks) AS check_id FROM m) GROUP BY ALL
     UNION ALL SELECT 'day', day, count(*) FROM m GROUP BY ALL
     ORDER BY dimension, count DESC, key`,
    params,
  );
}

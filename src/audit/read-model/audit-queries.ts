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

/** The WHERE clause over `decisions d` (and its status `s`) for `filters`, with its parameters. */
export function filterSql(filters: AuditFilters): { where: string; params: Params } {
  const parsed = AuditFiltersSchema.safeParse(filters);
  if (!parsed.success)
    throw new GateError('INPUT_INVALID', `invalid filters:\n${z.prettifyError(parsed.error)}`);
  const f = parsed.data;
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
  if (f.since !== undefined) {
    where.push('d.decided_at >= CAST($since AS TIMESTAMPTZ)');
    params.since = new Date(f.since).toISOString();
  }
  if (f.until !== undefined) {
    where.push('d.decided_at < CAST($until AS TIMESTAMPTZ)');
    params.until = new Date(f.until).toISOString();
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** A page of decisions matching `filters`, newest first; `after` is the last row of the previous page. */
export async function listDecisionRows(
  model: ReadModel,
  filters: AuditFilters,
  page: { limit?: number; after?: { decidedAt: string; decisionId: string } } = {},
): Promise<QueryResult> {
  const { where, params } = filterSql(filters);
  const limit = page.limit ?? 50;
  let keyset = '';
  if (page.after) {
    keyset = `${where ? 'AND' : 'WHERE'} (d.decided_at, d.decision_id) < (CAST($afterAt AS TIMESTAMPTZ), $afterId)`;
    params.afterAt = page.after.decidedAt;
    params.afterId = page.after.decisionId;
  }
  return model.query(
    `SELECT d.decided_at, d.outcome, d.repository, d.tag, d.artifact_digest, d.builder_id, d.builder_version,
       d.failing_codes, d.decision_id
     FROM decisions d ${where} ${keyset}
     ORDER BY d.decided_at DESC, d.decision_id DESC LIMIT ${Number(limit)}`,
    params,
  );
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
    const inDays = days.length ? `WHERE ${days.join(' AND ')}` : '';
    return model.query(
      `SELECT dimension, key, sum(count) AS count FROM daily_counts ${inDays} GROUP BY ALL
       UNION ALL SELECT 'day', day, sum(count) FROM daily_counts ${inDays ? `${inDays} AND` : 'WHERE'} dimension = 'outcome' GROUP BY ALL
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

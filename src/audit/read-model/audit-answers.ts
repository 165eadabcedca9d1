/**
 * The auditors' list and stats answers (the CLI, the HTTP API, the web view) from the read
 * model, in the shapes the store's queries (src/archive/queries.ts) give: a page of decisions
 * with its cursor, counts per dimension. Each answer says how fresh it is (`asOf`: the export
 * time of the run the model holds, docs/audit.md#freshness).
 */
import type { AuditFilters } from '../../archive/audit-filters.ts';
import type { DecisionRecord } from '../../archive/decision-record.ts';
import {
  PageSchema,
  decodeCursor,
  encodeCursor,
  type Count,
  type DecisionStats,
  type Page,
} from '../../archive/queries.ts';
import { GateError } from '../../core/errors.ts';
import { decisionStatsRows, listDecisionRows } from './audit-queries.ts';
import type { ReadModel } from './read-model.ts';
import { asOfOf } from './served-model.ts';

/** A decision as the audit list shows it: the archived record's fields the read model holds. */
export type DecisionSummary = Pick<
  DecisionRecord,
  | '_id'
  | 'workflowId'
  | 'runId'
  | 'requester'
  | 'outcome'
  | 'status'
  | 'failingCodes'
  | 'failingChecks'
  | 'evidenceDigest'
  | 'exceptionCount'
  | 'decidedAt'
  | 'builder'
  | 'source'
> & {
  artifact: { repository: string; tag?: string; digest: string };
  policy: { digest: string };
  /** The repository the artifact was published to (the read model's `publications` view). */
  publishedTo?: string;
};

/** A page of decisions and how fresh it is. */
export interface DecisionPage {
  items: DecisionSummary[];
  nextCursor?: string;
  asOf: string;
}

/** The summary of a full archived record (the store's answer, shown the read model's way). */
export function summaryOf(d: DecisionRecord): DecisionSummary {
  const source = d.source && {
    ...(d.source.repo !== undefined ? { repo: d.source.repo } : {}),
    ...(d.source.commit !== undefined ? { commit: d.source.commit } : {}),
    ...(d.source.ref !== undefined ? { ref: d.source.ref } : {}),
  };
  return {
    _id: d._id,
    workflowId: d.workflowId,
    runId: d.runId,
    requester: d.requester,
    outcome: d.outcome,
    status: d.status,
    failingCodes: d.failingCodes,
    failingChecks: d.failingChecks,
    evidenceDigest: d.evidenceDigest,
    exceptionCount: d.exceptionCount,
    decidedAt: new Date(d.decidedAt).toISOString(),
    artifact: {
      repository: d.artifact.repository,
      ...(d.artifact.tag !== undefined ? { tag: d.artifact.tag } : {}),
      digest: d.artifact.digest,
    },
    ...(d.builder ? { builder: d.builder } : {}),
    ...(source && Object.keys(source).length ? { source } : {}),
    ...(d.published ? { publishedTo: d.published.repository } : {}),
    policy: { digest: d.policy.digest },
  };
}

/** A DuckDB TIMESTAMPTZ as JSON (`2026-03-01 10:00:00.123+00`) as ISO-8601 UTC. */
function isoOf(value: unknown): string {
  const text = String(value).replace(' ', 'T');
  const date = new Date(/[+-]\d\d$/.test(text) ? `${text}:00` : text);
  if (Number.isNaN(date.getTime()))
    throw new GateError('INTERNAL_ERROR', `read model: not a timestamp: ${String(value)}`);
  return date.toISOString();
}

const str = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

function summaryOfRow(row: Record<string, unknown>): DecisionSummary {
  const tag = str(row.tag);
  const builderId = str(row.builder_id);
  const builderVersion = str(row.builder_version);
  const source = {
    ...(str(row.source_repo) !== undefined ? { repo: str(row.source_repo)! } : {}),
    ...(str(row.source_commit) !== undefined ? { commit: str(row.source_commit)! } : {}),
    ...(str(row.source_ref) !== undefined ? { ref: str(row.source_ref)! } : {}),
  };
  return {
    _id: String(row.decision_id),
    workflowId: String(row.workflow_id),
    runId: String(row.run_id),
    requester: String(row.requester),
    outcome: row.outcome as DecisionSummary['outcome'],
    // A decision whose events the model does not hold yet is as it was decided.
    status: (str(row.status) ?? 'decided') as DecisionSummary['status'],
    failingCodes: (row.failing_codes as string[] | null) ?? [],
    failingChecks: (row.failing_checks as string[] | null) ?? [],
    evidenceDigest: String(row.evidence_digest),
    exceptionCount: Number(row.exception_count),
    decidedAt: isoOf(row.decided_at),
    artifact: {
      repository: String(row.repository),
      ...(tag !== undefined ? { tag } : {}),
      digest: String(row.artifact_digest),
    },
    ...(builderId !== undefined
      ? { builder: { id: builderId, ...(builderVersion !== undefined ? { version: builderVersion } : {}) } }
      : {}),
    ...(Object.keys(source).length ? { source } : {}),
    policy: { digest: String(row.policy_digest) },
    ...(str(row.published_to) !== undefined ? { publishedTo: str(row.published_to)! } : {}),
  };
}

/** Decisions matching `filters`, newest first, one page at a time: `audit list` and GET /api/v1/decisions. */
export async function listDecisionPage(
  model: ReadModel,
  filters: AuditFilters,
  page: Page = {},
): Promise<DecisionPage> {
  const parsed = PageSchema.safeParse(page);
  if (!parsed.success) throw new GateError('INPUT_INVALID', 'invalid page', { detail: { what: 'page' } });
  const { limit, cursor } = parsed.data;
  const asOf = asOfOf(model);
  let after: { decidedAt: string; decisionId: string } | undefined;
  if (cursor !== undefined) {
    const [at, id] = decodeCursor(cursor);
    after = { decidedAt: at.toISOString(), decisionId: id };
  }
  // One row more than the page says whether there is a next one.
  const ids = await listDecisionRows(model, filters, { limit: limit + 1, ...(after ? { after } : {}) });
  const pageIds = ids.rows.slice(0, limit).map((r) => String(r.decision_id));
  if (pageIds.length === 0) return { items: [], asOf };
  const full = await model.query(
    `SELECT d.*, s.status, p.published_to FROM decisions d
     LEFT JOIN decision_status s USING (decision_id)
     LEFT JOIN (SELECT decision_id, min(repository) AS published_to FROM publications GROUP BY decision_id) p
       USING (decision_id)
     WHERE d.decision_id IN (SELECT unnest($ids::VARCHAR[]))`,
    { ids: JSON.stringify(pageIds) },
  );
  const byId = new Map(full.rows.map((r) => [String(r.decision_id), summaryOfRow(r)]));
  const items = pageIds.flatMap((id) => byId.get(id) ?? []);
  const last = items.at(-1);
  return ids.rows.length > limit && last
    ? { items, nextCursor: encodeCursor(last.decidedAt, last._id), asOf }
    : { items, asOf };
}

const byCountThenKey = (a: Count, b: Count) =>
  b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Counts of the matching decisions per dimension, as DecisionStats: `audit stats` and GET /api/v1/stats. */
export async function decisionStatsAnswer(
  model: ReadModel,
  filters: AuditFilters,
): Promise<DecisionStats & { asOf: string }> {
  const asOf = asOfOf(model);
  const result = await decisionStatsRows(model, filters);
  const counts: Record<string, Count[]> = {};
  for (const row of result.rows) {
    const key = row.key === null || row.key === undefined || row.key === '' ? '(none)' : String(row.key);
    (counts[String(row.dimension)] ??= []).push({ key, count: Number(row.count) });
  }
  const sorted = (dimension: string) => (counts[dimension] ?? []).sort(byCountThenKey);
  const byOutcome = sorted('outcome');
  return {
    total: byOutcome.reduce((sum, c) => sum + c.count, 0),
    byOutcome,
    byBuilder: sorted('builder'),
    byFailingCheck: sorted('failing_check'),
    byFailingCode: sorted('failing_code'),
    byDay: (counts.day ?? []).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    asOf,
  };
}

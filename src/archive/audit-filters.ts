import * as z from 'zod';
import { CheckIdSchema, ErrorCodeSchema, OutcomeSchema } from '../core/model.ts';
import { AuditTimeSchema } from './audit-time.ts';
import { NameSchema, Sha256DigestSchema } from './codecs.ts';
import { DecisionStatusSchema } from './lifecycle.ts';

/** The auditors' filters, shared by the CLI and the HTTP API; every given filter must match. */
export const AuditFiltersSchema = z.strictObject({
  artifactDigest: Sha256DigestSchema.optional(),
  repository: NameSchema.optional(),
  tag: NameSchema.optional(),
  builderId: NameSchema.optional(),
  builderVersion: NameSchema.optional(),
  sourceRepo: NameSchema.optional(),
  sourceCommit: NameSchema.optional(),
  outcome: OutcomeSchema.optional(),
  status: DecisionStatusSchema.optional(),
  /** An error code of a FAILed check (`BUILDER_UNTRUSTED`, …). */
  failingCode: ErrorCodeSchema.optional(),
  /** A check id that FAILed (`builder`, `dependencies`, …). */
  failingCheck: CheckIdSchema.optional(),
  policyDigest: Sha256DigestSchema.optional(),
  /** Decisions that relied on at least one exception (true) or on none (false). */
  withException: z.boolean().optional(),
  /** Decisions on which this approver gave a verdict. */
  approver: NameSchema.optional(),
  /** Decided at or after (inclusive): a date (that UTC day's start) or an instant (audit-time.ts). */
  since: AuditTimeSchema.optional(),
  /** Decided before (exclusive): a date (that UTC day's start) or an instant (audit-time.ts). */
  until: AuditTimeSchema.optional(),
});
export type AuditFilters = z.input<typeof AuditFiltersSchema>;

/**
 * The MongoDB filter for `filters`; `approvedIds` are the decision ids the approver filter
 * resolved to. One flat object (every key distinct, so it is a conjunction) rather than `$and`:
 * FerretDB 1.x pushes only top-level equality conditions down to SQLite.
 */
export function decisionFilter(
  filters: z.output<typeof AuditFiltersSchema>,
  approvedIds?: string[],
): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  const eq = (field: string, value: unknown) => {
    if (value !== undefined) query[field] = value;
  };
  eq('artifact.digest', filters.artifactDigest);
  eq('artifact.repository', filters.repository);
  eq('artifact.tag', filters.tag);
  eq('builder.id', filters.builderId);
  eq('builder.version', filters.builderVersion);
  eq('source.repo', filters.sourceRepo);
  eq('source.commit', filters.sourceCommit);
  eq('outcome', filters.outcome);
  eq('status', filters.status);
  eq('failingCodes', filters.failingCode);
  eq('failingChecks', filters.failingCheck);
  eq('policy.digest', filters.policyDigest);
  if (filters.withException !== undefined) query.exceptionCount = filters.withException ? { $gt: 0 } : 0;
  if (approvedIds !== undefined) query._id = { $in: approvedIds };
  const range: { $gte?: Date; $lt?: Date } = {};
  if (filters.since !== undefined) range.$gte = new Date(filters.since);
  if (filters.until !== undefined) range.$lt = new Date(filters.until);
  if (range.$gte || range.$lt) query.decidedAt = range;
  return query;
}

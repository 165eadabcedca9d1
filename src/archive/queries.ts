/**
 * The auditors' read side: filtered listing, statistics, everything about one
 * publish, and export. Read-only; every document read goes through its zod schema.
 * Within FerretDB 1.x: no `$facet`/`$lookup`/`$dateToString`; days come from the stored `day` field.
 */
import type { Filter } from 'mongodb';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import type { ApprovalRecord } from './approval-record.ts';
import { collectionsOf, type Archive } from './archive.ts';
import { AttestationDocSchema, type AttestationRecord, type SightingRecord } from './attestation-record.ts';
import { AuditFiltersSchema, decisionFilter, type AuditFilters } from './audit-filters.ts';
import { SCAN_LIMIT, toRecord, type RecordOf } from './collections.ts';
import { DecisionDocSchema, type DecisionDoc, type DecisionRecord } from './decision-record.ts';
import type { EventRecord } from './event-record.ts';
import type { ExceptionRecord } from './exception-record.ts';
import type { PolicyRecord } from './policy-record.ts';
import { VsaDocSchema, type VsaRecord } from './vsa-record.ts';

/** Page size and position; `cursor` is the `nextCursor` of the previous page. */
export const PageSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).default(50),
  cursor: z.string().optional(),
});
export type Page = z.input<typeof PageSchema>;

/** Decisions matching every given filter, newest first, one page at a time (keyset pagination). */
export async function listDecisions(
  archive: Archive,
  filters: AuditFilters = {},
  page: Page = {},
): Promise<{ items: DecisionRecord[]; nextCursor?: string }> {
  const { limit, cursor } = parse(PageSchema, page, 'page');
  const query = await resolveFilters(archive, filters);
  if (cursor !== undefined) {
    const [at, id] = decodeCursor(cursor);
    query.$or = [{ decidedAt: { $lt: at } }, { decidedAt: at, _id: { $lt: id } }];
  }
  const docs = await collectionsOf(archive)
    .decisions.find(query)
    .sort({ decidedAt: -1, _id: -1 })
    .limit(limit + 1)
    .toArray();
  const items = docs.slice(0, limit).map((doc) => toRecord('decisions', doc));
  const last = items.at(-1);
  return docs.length > limit && last
    ? { items, nextCursor: encodeCursor(last.decidedAt, last._id) }
    : { items };
}

/** A count per key. */
export interface Count {
  key: string;
  count: number;
}

/** The fields `decisionStats` reads, validated as the full schema would. */
const StatsRowSchema = DecisionDocSchema.pick({
  _id: true,
  outcome: true,
  builder: true,
  day: true,
  failingChecks: true,
  failingCodes: true,
});

/** What `decisionStats` returns: counts sorted by count (days by date). */
export interface DecisionStats {
  total: number;
  byOutcome: Count[];
  byBuilder: Count[];
  /** By the id of a FAILed check. */
  byFailingCheck: Count[];
  /** By the error code of a FAILed check. */
  byFailingCode: Count[];
  byDay: Count[];
}

/**
 * Counts of the matching decisions by outcome, builder, failing check and code, and day.
 * On MongoDB the server counts (`$match` on the indexed filters, then `$group`, one pipeline
 * per dimension). On FerretDB 1.x they are counted here over one projected scan: its `$group`
 * slows with the number of groups (10,000 decisions: 10–20 s in one combined pass, 8–12 s in
 * four small passes, 3–4 s for this scan). `serverSide` overrides the choice (tests).
 */
export async function decisionStats(
  archive: Archive,
  filters: AuditFilters = {},
  options: { serverSide?: boolean } = {},
): Promise<DecisionStats> {
  const match = await resolveFilters(archive, filters);
  if (options.serverSide ?? archive.server.kind === 'mongodb') return groupedStats(archive, match);
  const cursor = collectionsOf(archive)
    .decisions.find(match, {
      projection: { outcome: 1, builder: 1, day: 1, failingChecks: 1, failingCodes: 1 },
    })
    .batchSize(5000);
  const tallies = {
    byOutcome: new Map<string, number>(),
    byBuilder: new Map<string, number>(),
    byFailingCheck: new Map<string, number>(),
    byFailingCode: new Map<string, number>(),
    byDay: new Map<string, number>(),
  };
  const add = (tally: Map<string, number>, key: unknown, count: number) => {
    const name = key === undefined || key === null || key === '' ? '(none)' : String(key);
    tally.set(name, (tally.get(name) ?? 0) + count);
  };
  let total = 0;
  for await (const doc of cursor) {
    const row = StatsRowSchema.safeParse(doc);
    if (!row.success) {
      throw new GateError(
        'ARCHIVE_ERROR',
        `stored decisions document ${String(doc._id)} does not match its schema`,
        {
          detail: { collection: 'decisions', id: doc._id },
        },
      );
    }
    const { outcome, builder, day, failingChecks, failingCodes } = row.data;
    total++;
    add(tallies.byOutcome, outcome, 1);
    add(tallies.byBuilder, builder ? [builder.id, builder.version].filter(Boolean).join('@') : undefined, 1);
    add(tallies.byDay, day, 1);
    for (const check of failingChecks) add(tallies.byFailingCheck, check, 1);
    for (const code of failingCodes) add(tallies.byFailingCode, code, 1);
  }
  const sorted = (tally: Map<string, number>) =>
    [...tally]
      .map(([k, count]) => ({ key: k, count }))
      .sort((a, b) => b.count - a.count || compare(a.key, b.key));
  return {
    total,
    byOutcome: sorted(tallies.byOutcome),
    byBuilder: sorted(tallies.byBuilder),
    byFailingCheck: sorted(tallies.byFailingCheck),
    byFailingCode: sorted(tallies.byFailingCode),
    byDay: [...tallies.byDay].map(([k, count]) => ({ key: k, count })).sort((a, b) => compare(a.key, b.key)),
  };
}

const CountRowSchema = z.strictObject({
  _id: z.union([
    z.string(),
    z.null(),
    z.strictObject({ id: z.string().optional(), version: z.string().optional() }),
  ]),
  count: z.number().int(),
});

/** decisionStats by the server: `$group` after `$match`. */
async function groupedStats(archive: Archive, match: Filter<DecisionDoc>): Promise<DecisionStats> {
  const decisions = collectionsOf(archive).decisions;
  const count = async (key: unknown, unwind?: string): Promise<Count[]> => {
    const pipeline: object[] = [{ $match: match }];
    if (unwind) pipeline.push({ $unwind: `$${unwind}` });
    pipeline.push({ $group: { _id: key, count: { $sum: 1 } } });
    const rows = await decisions.aggregate(pipeline).toArray();
    return rows.map((row) => {
      const parsed = CountRowSchema.safeParse(row);
      if (!parsed.success) {
        throw new GateError('ARCHIVE_ERROR', `decision statistics: unexpected group ${JSON.stringify(row)}`, {
          detail: { collection: 'decisions' },
        });
      }
      const raw = parsed.data._id;
      // A builder groups as {id, version}: named `id@version` or `id`, as the scan names it.
      const k =
        raw !== null && typeof raw === 'object' ? [raw.id, raw.version].filter(Boolean).join('@') : raw;
      return { key: k === null || k === '' ? '(none)' : k, count: parsed.data.count };
    });
  };
  const [byOutcome, byBuilderRaw, byFailingCheck, byFailingCode, byDay] = await Promise.all([
    count('$outcome'),
    count({ id: '$builder.id', version: '$builder.version' }),
    count('$failingChecks', 'failingChecks'),
    count('$failingCodes', 'failingCodes'),
    count('$day'),
  ]);
  const sorted = (counts: Count[]) => counts.sort((a, b) => b.count - a.count || compare(a.key, b.key));
  return {
    total: byOutcome.reduce((sum, c) => sum + c.count, 0),
    byOutcome: sorted(byOutcome),
    byBuilder: sorted(byBuilderRaw),
    byFailingCheck: sorted(byFailingCheck),
    byFailingCode: sorted(byFailingCode),
    byDay: byDay.sort((a, b) => compare(a.key, b.key)),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Everything the archive holds about one publish attempt. */
export interface DecisionDetail {
  decision: DecisionRecord;
  approvals: ApprovalRecord[];
  exceptions: ExceptionRecord[];
  events: EventRecord[];
  /** The archived attestations the decision rests on, raw bytes included. */
  attestations: AttestationRecord[];
  /** Digests the decision names that the archive does not hold. */
  missingAttestations: string[];
  sightings: SightingRecord[];
  vsas: VsaRecord[];
  policy: PolicyRecord | null;
}

/**
 * One publish attempt, by decision id, artifact digest (`sha256:…`, the newest decision on it)
 * or workflow id (its newest run). Null when nothing matches.
 */
export async function showDecision(archive: Archive, ref: string): Promise<DecisionDetail | null> {
  const decisions = collectionsOf(archive).decisions;
  const doc =
    (await decisions.findOne({ _id: ref })) ??
    (await decisions.find({ 'artifact.digest': ref }).sort({ decidedAt: -1, _id: -1 }).limit(1).next()) ??
    (await decisions.find({ workflowId: ref }).sort({ decidedAt: -1, _id: -1 }).limit(1).next());
  if (!doc) return null;
  const decision = toRecord('decisions', doc);
  const id = decision._id;
  const digests = decision.attestationDigests;
  const [approvals, exceptions, events, attestations, sightings, vsas, policy] = await Promise.all([
    collectionsOf(archive).approvals.find({ decisionId: id }).sort({ at: 1 }).toArray(),
    collectionsOf(archive).exceptions.find({ decisionId: id }).sort({ _id: 1 }).toArray(),
    collectionsOf(archive).events.find({ decisionId: id }).sort({ at: 1 }).toArray(),
    collectionsOf(archive)
      .attestations.find({ _id: { $in: digests } })
      .toArray(),
    collectionsOf(archive)
      .sightings.find({ digest: { $in: digests } })
      .sort({ fetchedAt: 1 })
      .toArray(),
    collectionsOf(archive).vsas.find({ decisionId: id }).sort({ at: 1 }).toArray(),
    collectionsOf(archive)
      .policies.find({ digest: decision.policy.digest })
      .sort({ firstStoredAt: 1 })
      .limit(1)
      .next(),
  ]);
  const found = new Set(attestations.map((a) => a._id));
  return {
    decision,
    approvals: approvals.map((d) => toRecord('approvals', d)),
    exceptions: exceptions.map((d) => toRecord('exceptions', d)),
    events: events.map((d) => toRecord('events', d)),
    attestations: attestations.map((d) => toRecord('attestations', d)),
    missingAttestations: digests.filter((d) => !found.has(d)),
    sightings: sightings.map((d) => toRecord('sightings', d)),
    vsas: vsas.map((d) => toRecord('vsas', d)),
    policy: policy && toRecord('policies', policy),
  };
}

/** One exported decision: the record with its approvals, exceptions, VSAs and attestations (inlined or referenced). */
export type ExportedDecision = DecisionRecord & {
  approvals: ApprovalRecord[];
  exceptions: ExceptionRecord[];
  vsas: Array<Omit<VsaRecord, 'raw'> & { raw?: string }>;
  attestations: Array<Omit<AttestationRecord, 'raw'> & { raw?: string }>;
};

/**
 * Decisions decided in [since, until), oldest first, as plain JSON objects, read in batches.
 * Raw bytes are included only with `inline`.
 */
export async function* exportDecisions(
  archive: Archive,
  since: string,
  until: string,
  options: { inline?: boolean; filters?: AuditFilters; batchSize?: number } = {},
): AsyncIterable<ExportedDecision> {
  const query = await resolveFilters(archive, { ...options.filters, since, until });
  const batchSize = options.batchSize ?? 200;
  const cursor = collectionsOf(archive)
    .decisions.find(query, SCAN_LIMIT)
    .sort({ decidedAt: 1, _id: 1 })
    .batchSize(batchSize);
  let batch: DecisionRecord[] = [];
  const flush = async function* (): AsyncIterable<ExportedDecision> {
    const ids = batch.map((d) => d._id);
    const digests = [...new Set(batch.flatMap((d) => d.attestationDigests))];
    const projection = options.inline ? {} : { raw: 0 };
    const [approvals, exceptions, vsas, attestations] = await Promise.all([
      collectionsOf(archive)
        .approvals.find({ decisionId: { $in: ids } })
        .sort({ at: 1 })
        .toArray(),
      collectionsOf(archive)
        .exceptions.find({ decisionId: { $in: ids } })
        .sort({ _id: 1 })
        .toArray(),
      collectionsOf(archive)
        .vsas.find({ decisionId: { $in: ids } }, { projection })
        .sort({ at: 1 })
        .toArray(),
      collectionsOf(archive)
        .attestations.find({ _id: { $in: digests } }, { projection })
        .toArray(),
    ]);
    const attestationById = new Map(
      attestations.map((d) => [d._id, readMaybeWithoutRaw('attestations', d, options.inline)] as const),
    );
    const vsaRecords = vsas.map((d) => readMaybeWithoutRaw('vsas', d, options.inline));
    const approvalRecords = approvals.map((d) => toRecord('approvals', d));
    const exceptionRecords = exceptions.map((d) => toRecord('exceptions', d));
    for (const decision of batch) {
      yield {
        ...decision,
        approvals: approvalRecords.filter((a) => a.decisionId === decision._id),
        exceptions: exceptionRecords.filter((e) => e.decisionId === decision._id),
        vsas: vsaRecords.filter((v) => v.decisionId === decision._id),
        attestations: decision.attestationDigests.flatMap((d) => {
          const att = attestationById.get(d);
          return att ? [att] : [];
        }),
      };
    }
    batch = [];
  };
  for await (const doc of cursor) {
    batch.push(toRecord('decisions', doc));
    if (batch.length >= batchSize) yield* flush();
  }
  if (batch.length > 0) yield* flush();
}

/** Reads an attestation or VSA; without `inline` its raw bytes were not fetched and are not expected. */
function readMaybeWithoutRaw<N extends 'attestations' | 'vsas'>(
  collection: N,
  doc: object,
  inline: boolean | undefined,
): Omit<RecordOf<N>, 'raw'> & { raw?: string } {
  if (inline) return toRecord(collection, doc);
  const schema: z.ZodType =
    collection === 'attestations'
      ? AttestationDocSchema.omit({ raw: true })
      : VsaDocSchema.omit({ raw: true });
  const result = z.safeEncode(schema, doc as never);
  if (!result.success) {
    const id = (doc as { _id?: unknown })._id;
    throw new GateError(
      'ARCHIVE_ERROR',
      `stored ${collection} document ${String(id)} does not match its schema`,
      {
        detail: { collection, id },
      },
    );
  }
  return result.data as Omit<RecordOf<N>, 'raw'>;
}

/** Validates the filters and resolves the approver filter through the approvals collection. */
async function resolveFilters(archive: Archive, filters: AuditFilters): Promise<Filter<DecisionDoc>> {
  const parsed = parse(AuditFiltersSchema, filters, 'filters');
  let approvedIds: string[] | undefined;
  if (parsed.approver !== undefined) {
    const rows = await collectionsOf(archive)
      .approvals.find({ approver: parsed.approver }, { projection: { decisionId: 1 } })
      .toArray();
    approvedIds = [...new Set(rows.map((r) => r.decisionId))];
  }
  return decisionFilter(parsed, approvedIds);
}

/** The page cursor after the decision `id` decided at `decidedAt` (the list's keyset position). */
export function encodeCursor(decidedAt: string, id: string): string {
  return Buffer.from(JSON.stringify([decidedAt, id])).toString('base64url');
}

/** The position a cursor names; INPUT_INVALID (detail `cursor`) when it is not one. */
export function decodeCursor(cursor: string): [Date, string] {
  try {
    const [at, id] = z
      .tuple([z.iso.datetime(), z.string()])
      .parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return [new Date(at), id];
  } catch (err) {
    throw new GateError('INPUT_INVALID', 'invalid page cursor', { cause: err, detail: { cursor } });
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new GateError('INPUT_INVALID', `invalid ${what}:\n${z.prettifyError(result.error)}`, {
      detail: { what },
    });
  }
  return result.data;
}

/** Digests of the attestations that a PASS check rests on, in one decision or in every decision. */
export async function reliedOnAttestations(archive: Archive, decisionId?: string): Promise<Set<string>> {
  const relied = new Set<string>();
  const query = decisionId === undefined ? {} : { _id: decisionId };
  for await (const d of collectionsOf(archive).decisions.find(query, {
    ...SCAN_LIMIT,
    projection: { checks: 1 },
  })) {
    for (const check of d.checks)
      if (check.result === 'PASS') for (const e of check.evidence ?? []) relied.add(e);
  }
  return relied;
}

/** The raw bytes (base64) archived under a content digest: an attestation's, else an issued or received VSA's. */
export async function findArchivedBytes(
  archive: Archive,
  digest: string,
): Promise<{ kind: 'attestation' | 'vsa'; raw: string } | undefined> {
  const collections = collectionsOf(archive);
  const att = await collections.attestations.findOne({ _id: digest });
  if (att) return { kind: 'attestation', raw: toRecord('attestations', att).raw };
  const vsa = await collections.vsas.findOne({ digest });
  return vsa ? { kind: 'vsa', raw: toRecord('vsas', vsa).raw } : undefined;
}

/**
 * The archive's collections and their indexes. Indexes follow the audit filters;
 * `_id`s are deterministic so every write is idempotent by its primary key.
 * Only plain single-field and compound indexes: FerretDB 1.x has no partial or TTL indexes.
 */
import { MongoServerError, type Collection, type Db, type IndexDescription } from 'mongodb';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { ApprovalDocSchema } from './approval-record.ts';
import { ApprovalSetDocSchema } from './approval-set-record.ts';
import { AttachmentTagDocSchema } from './attachment-tag-record.ts';
import { AttestationDocSchema, SightingDocSchema } from './attestation-record.ts';
import { ChangeDocSchema } from './change-record.ts';
import { DecisionDocSchema } from './decision-record.ts';
import { DriftDocSchema } from './drift-record.ts';
import { EventDocSchema } from './event-record.ts';
import { ExceptionDocSchema } from './exception-record.ts';
import { PolicyDocSchema } from './policy-record.ts';
import { PolicyHeadDocSchema, PolicyVersionDocSchema } from './policy-version-record.ts';
import { PublicationDocSchema, ReleaseDocSchema } from './release-record.ts';
import { RequestSealDocSchema } from './request-seal-record.ts';
import { RevocationDocSchema } from './revocation-record.ts';
import { SubjectVsasDocSchema } from './subject-vsas-record.ts';
import { VsaDocSchema } from './vsa-record.ts';

/** Each collection with the codec schema of its documents. */
export const SCHEMAS = {
  decisions: DecisionDocSchema,
  attestations: AttestationDocSchema,
  sightings: SightingDocSchema,
  vsas: VsaDocSchema,
  policies: PolicyDocSchema,
  policyVersions: PolicyVersionDocSchema,
  policyHead: PolicyHeadDocSchema,
  approvals: ApprovalDocSchema,
  exceptions: ExceptionDocSchema,
  events: EventDocSchema,
  // Documents keyed for the publish path's reads (each read is one `_id` lookup).
  releases: ReleaseDocSchema,
  publications: PublicationDocSchema,
  subjectVsas: SubjectVsasDocSchema,
  approvalSets: ApprovalSetDocSchema,
  // Keyed by the revoked digest: the publish path reads it by `_id`.
  revocations: RevocationDocSchema,
  // Findings of the release monitor (drift: tags naming what the gate did not publish).
  drift: DriftDocSchema,
  // What the gate last wrote under each attachment tag, for the release monitor.
  attachmentTags: AttachmentTagDocSchema,
  // Request seals consumed, each by the one run it admitted.
  requestSeals: RequestSealDocSchema,
  // The change feed: per UTC minute, the `_id`s written that the read model exports.
  changes: ChangeDocSchema,
} as const;

export type CollectionName = keyof typeof SCHEMAS;
/** The stored (BSON) form of a collection's documents. */
export type DocOf<N extends CollectionName> = z.output<(typeof SCHEMAS)[N]>;
/** The plain JSON form of a collection's documents. */
export type RecordOf<N extends CollectionName> = z.input<(typeof SCHEMAS)[N]>;

/** Indexes per collection, named so that a changed definition fails loudly at start-up. */
export const INDEXES: Record<CollectionName, IndexDescription[]> = {
  decisions: [
    { name: 'run', key: { workflowId: 1, runId: 1 }, unique: true },
    { name: 'artifact_digest', key: { 'artifact.digest': 1, decidedAt: -1 } },
    { name: 'artifact_repo_tag', key: { 'artifact.repository': 1, 'artifact.tag': 1, decidedAt: -1 } },
    { name: 'builder', key: { 'builder.id': 1, 'builder.version': 1, decidedAt: -1 } },
    { name: 'source_repo', key: { 'source.repo': 1, decidedAt: -1 } },
    { name: 'source_commit', key: { 'source.commit': 1, decidedAt: -1 } },
    { name: 'outcome', key: { outcome: 1, decidedAt: -1 } },
    { name: 'failing_codes', key: { failingCodes: 1, decidedAt: -1 } },
    { name: 'failing_checks', key: { failingChecks: 1, decidedAt: -1 } },
    { name: 'policy_digest', key: { 'policy.digest': 1, decidedAt: -1 } },
    { name: 'decided_at', key: { decidedAt: -1, _id: -1 } },
    { name: 'status', key: { status: 1, decidedAt: -1 } },
  ],
  attestations: [
    { name: 'subject_digests', key: { subjectDigests: 1 } },
    { name: 'builder_id', key: { builderId: 1 } },
    { name: 'source', key: { sourceRepo: 1, sourceCommit: 1 } },
    { name: 'fetched_at', key: { fetchedAt: 1 } },
  ],
  sightings: [{ name: 'digest', key: { digest: 1, fetchedAt: 1 } }],
  vsas: [
    { name: 'digest', key: { digest: 1 } },
    { name: 'decision', key: { decisionId: 1 } },
    { name: 'subject_digest', key: { subjectDigest: 1 } },
    { name: 'at', key: { at: 1 } },
  ],
  policies: [{ name: 'digest', key: { digest: 1 } }],
  policyVersions: [{ name: 'version', key: { version: -1 } }],
  policyHead: [],
  approvals: [
    { name: 'approver', key: { approver: 1, at: -1 } },
    { name: 'decision', key: { decisionId: 1 } },
    { name: 'at', key: { at: 1 } },
  ],
  exceptions: [
    { name: 'decision', key: { decisionId: 1 } },
    { name: 'granted_by', key: { grantedBy: 1 } },
    { name: 'subject', key: { subject: 1 } },
  ],
  events: [
    { name: 'decision', key: { decisionId: 1, at: 1 } },
    { name: 'at', key: { at: 1 } },
  ],
  // Read by `_id` only.
  releases: [],
  publications: [],
  subjectVsas: [],
  approvalSets: [],
  revocations: [],
  drift: [
    { name: 'at', key: { at: -1, _id: -1 } },
    { name: 'repository', key: { repository: 1, at: -1 } },
  ],
  // Read by `_id` (the nonce) only.
  requestSeals: [],
  attachmentTags: [],
  // Read by `_id` (the minute) only.
  changes: [],
};

/** Typed handles on every collection of one archive database. */
export type Collections = { [N in CollectionName]: Collection<DocOf<N>> };

/**
 * The server-side time limit (maxTimeMS) every read of the archive carries unless it names its
 * own: a query the store cannot answer in time fails (ARCHIVE_UNAVAILABLE past the boundaries,
 * src/config/coded-error.ts) instead of holding its caller. A lookup by key answers in
 * milliseconds; a filtered list over 100,000 decisions on FerretDB takes up to a minute
 * (README.md, "Measured").
 */
export const READ_LIMIT = { maxTimeMS: 120_000 } as const;
/** The limit of a read that walks a whole collection (the exports, `audit verify`, a migration). */
export const SCAN_LIMIT = { maxTimeMS: 30 * 60_000 } as const;

/**
 * The read methods and where their options argument is. Not `distinct`: FerretDB 1.x refuses
 * maxTimeMS on it (and the archive does not use it).
 */
const READ_OPTIONS_INDEX: Record<string, number> = { find: 1, findOne: 1, aggregate: 1, countDocuments: 1 };

/** `collection` with READ_LIMIT added to the options of every read that does not set maxTimeMS itself. */
function withReadLimit(collection: Collection): Collection {
  return new Proxy(collection, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      const at = typeof property === 'string' ? READ_OPTIONS_INDEX[property] : undefined;
      if (at === undefined || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const options = (args[at] ?? {}) as Record<string, unknown>;
        args[at] = { ...READ_LIMIT, ...options };
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Typed handles on the archive's collections in `db`; every read through them is time-limited. */
export function collectionsIn(db: Db): Collections {
  const out: Partial<Record<CollectionName, Collection>> = {};
  for (const name of Object.keys(SCHEMAS) as CollectionName[]) out[name] = withReadLimit(db.collection(name));
  return out as unknown as Collections;
}

/**
 * Creates every missing collection and index. A collection read by key before its first
 * write (`revocations`, on every publish) must exist for the store to serve the read from
 * its `_id` index.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  const existingCollections = new Set(
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
  );
  for (const [name, indexes] of Object.entries(INDEXES)) {
    if (!existingCollections.has(name)) await createCollectionOnce(db, name);
    // FerretDB 1.24 drops the connection on createIndexes for an index that already
    // exists, so only the missing ones are created (by name).
    const existing = existingCollections.has(name)
      ? new Set((await db.collection(name).listIndexes().toArray()).map((i) => String(i.name)))
      : new Set<string>();
    const missing = indexes.filter((i) => !existing.has(String(i.name)));
    if (missing.length > 0) await db.collection(name).createIndexes(missing);
  }
}

/** Creates a collection; one created meanwhile by another process is fine. */
async function createCollectionOnce(db: Db, name: string): Promise<void> {
  try {
    await db.createCollection(name);
  } catch (err) {
    // NamespaceExists (48): another worker or CLI created it first.
    if (!(err instanceof MongoServerError && err.code === 48)) throw err;
  }
}

/** Validates a stored document and returns its plain JSON form; ARCHIVE_ERROR when it does not fit. */
export function toRecord<N extends CollectionName>(collection: N, doc: unknown): RecordOf<N> {
  const result = z.safeEncode(SCHEMAS[collection] as z.ZodType, doc as never);
  if (!result.success) {
    const id = (doc as { _id?: unknown } | null)?._id;
    throw new GateError(
      'ARCHIVE_ERROR',
      `stored ${collection} document ${String(id)} does not match its schema:\n${z.prettifyError(result.error)}`,
      { detail: { collection, id } },
    );
  }
  return result.data as RecordOf<N>;
}

/** Validates a JSON record and returns the document to store; ARCHIVE_ERROR when it does not fit. */
export function toDoc<N extends CollectionName>(collection: N, record: RecordOf<N>): DocOf<N> {
  const result = z.safeDecode(SCHEMAS[collection] as z.ZodType, record as never);
  if (!result.success) {
    throw new GateError(
      'ARCHIVE_ERROR',
      `${collection} record ${String((record as { _id?: unknown })._id)} does not match its schema:\n${z.prettifyError(result.error)}`,
      { detail: { collection, id: (record as { _id?: unknown })._id } },
    );
  }
  return result.data as DocOf<N>;
}

/**
 * The archive's write side, called by the publish workflow's activities. Every function
 * takes and returns plain JSON, validates with zod on write and on read, and is idempotent:
 * a retry after a crash finds its own earlier write (E11000 on the deterministic `_id`) and
 * succeeds, while a *different* record under the same key is refused with ARCHIVE_ERROR.
 *
 * Errors: GateError INPUT_INVALID (bad payload) and ARCHIVE_ERROR (conflict, illegal
 * transition, unknown decision, stored document that fails its schema) will fail again;
 * driver errors (store down, stepdown, timeout) are rethrown as they are so that
 * the activity retries them (docs/checklist.md#row-29 and docs/checklist.md#row-33).
 */
import {
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type CommandStartedEvent,
  type Db,
  type MongoClientOptions,
} from 'mongodb';
import * as z from 'zod';
import { boundedLine, GateError } from '../core/errors.ts';
import { ApprovalInputSchema, type ApprovalInput, type ApprovalRecord } from './approval-record.ts';
import {
  AttestationInputSchema,
  type AttestationInput,
  type AttestationRecord,
} from './attestation-record.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import { CHANGED_COLLECTIONS, changeMinute, type ChangedCollection } from './change-record.ts';
import { NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';
import {
  collectionsIn,
  ensureIndexes,
  READ_LIMIT,
  SCAN_LIMIT,
  toDoc,
  toRecord,
  type CollectionName,
  type Collections,
  type DocOf,
  type RecordOf,
} from './collections.ts';
import {
  DecisionInputSchema,
  MUTABLE_DECISION_FIELDS,
  PublishedInputSchema,
  type DecisionInput,
  type DecisionRecord,
  type PublishedInput,
} from './decision-record.ts';
import { computeEvidenceDigest, sha256Digest } from './digest.ts';
import { DecisionStatusSchema, transitionRefusal, type DecisionStatus } from './lifecycle.ts';
import type { PolicyVersionRecord } from './policy-version-record.ts';
import { attachmentTagId, type AttachmentTagRecord } from './attachment-tag-record.ts';
import { driftId, type DriftRecord, type DriftSighting } from './drift-record.ts';
import { publicationId, releaseId, type ReleaseRecord } from './release-record.ts';
import type { RequestSealRecord } from './request-seal-record.ts';
import { RevocationInputSchema, type RevocationInput, type RevocationRecord } from './revocation-record.ts';
import { VsaDocSchema, VsaInputSchema, type VsaInput, type VsaRecord } from './vsa-record.ts';

// The JSON input schemas, for activities that validate payloads before calling in.
export {
  ApprovalInputSchema,
  AttestationInputSchema,
  DecisionInputSchema,
  PublishedInputSchema,
  VsaInputSchema,
};
export type {
  ApprovalInput,
  AttestationInput,
  DecisionInput,
  DecisionRecord,
  PublishedInput,
  ReleaseRecord,
  RevocationRecord,
  VsaInput,
};
export { computeEvidenceDigest, sha256Digest } from './digest.ts';
export type { DecisionStatus } from './lifecycle.ts';

/** Attestations larger than this are refused before they reach the store (16 MiB BSON limit). */
export const MAX_RAW_BYTES = 8 * 1024 * 1024;

const indexesReady = new Map<string, Promise<void>>();

/** Connects to the archive database and creates its indexes (once per process and database, unless `createIndexes: false`). */
export async function openArchive(
  uri: string,
  dbName: string,
  options: {
    serverSelectionTimeoutMS?: number;
    createIndexes?: boolean;
    /** Transport settings from the worker configuration (CA bundle for TLS). */
    tls?: Pick<MongoClientOptions, 'tls' | 'ca' | 'crl' | 'cert' | 'key'>;
    /** Sees every command sent (tests prove with it which reads the publish path makes). */
    onCommand?: (event: CommandStartedEvent) => void;
  } = {},
): Promise<Archive> {
  const connectWithin = options.serverSelectionTimeoutMS ?? 10_000;
  const client = new MongoClient(uri, {
    ...options.tls,
    ...(options.onCommand ? { monitorCommands: true } : {}),
    ignoreUndefined: true,
    // A store that accepts the connection and never answers is given up on within the same
    // bound as one that refuses it (the driver's default would hold the caller 30 s more).
    serverSelectionTimeoutMS: connectWithin,
    connectTimeoutMS: connectWithin,
    // A store that stops answering mid-read: the read's own limit, and then some, not for ever.
    socketTimeoutMS: READ_LIMIT.maxTimeMS + 30_000,
    // docs/checklist.md#row-33: nothing is published on a decision a stepdown could roll back.
    writeConcern: { w: 'majority' },
    readConcernLevel: 'majority',
  });
  if (options.onCommand) client.on('commandStarted', options.onCommand);
  try {
    await client.connect();
  } catch (err) {
    await client.close();
    throw err;
  }
  const db = client.db(dbName);
  let server: ArchiveServer;
  try {
    server = await serverOf(db);
    // The store's own rules for database names (FerretDB's are stricter than MongoDB's): a name
    // it refuses fails here, when connecting, rather than at the first read.
    await db.listCollections({}, { nameOnly: true, authorizedCollections: true, ...READ_LIMIT }).toArray();
  } catch (err) {
    await client.close();
    throw err;
  }
  // Read-only callers (auditors) may lack the right to create indexes.
  if (options.createIndexes === false) return new Archive(client, db, server);
  const archive = new Archive(client, db, server);
  const key = `${uri}\u0000${dbName}`;
  let ready = indexesReady.get(key);
  if (!ready) {
    ready = ensureIndexes(db)
      .then(() => archive.backfillKeyedRecords())
      .then(() => archive.markChangeFeedStart());
    indexesReady.set(key, ready);
    ready.catch(() => indexesReady.delete(key));
  }
  try {
    await ready;
  } catch (err) {
    await client.close();
    throw err;
  }
  return archive;
}

/** What serves the archive, as far as the queries must know. */
export interface ArchiveServer {
  kind: 'mongodb' | 'ferretdb';
  /**
   * FerretDB 1.x serves a filter by index only when it is a lone `_id` (every other filter,
   * `{_id, status}` included, scans the collection) and does not apply a conditional update
   * atomically anyway; there, conditions are checked on the document just read by key.
   */
  lookupsByIdOnly: boolean;
}

async function serverOf(db: Db): Promise<ArchiveServer> {
  const info = await db.admin().command({ buildInfo: 1 });
  const ferret = typeof info.ferretdbVersion === 'string' || typeof info.ferretdb === 'object';
  return ferret ? { kind: 'ferretdb', lookupsByIdOnly: true } : { kind: 'mongodb', lookupsByIdOnly: false };
}

/** The collections the read model is exported from (the ones the change feed names). */
export type ExportedCollection = ChangedCollection;
export const EXPORTED_COLLECTIONS: readonly ExportedCollection[] = CHANGED_COLLECTIONS;
/** A record as the export reads it (VSAs without their raw bytes). */
export type ExportRecordOf<N extends ExportedCollection> = N extends 'vsas'
  ? Omit<VsaRecord, 'raw'>
  : RecordOf<N>;
/** Records of one collection, read together. */
export type ExportBatch = {
  [N in ExportedCollection]: { collection: N; records: Array<ExportRecordOf<N>> };
}[ExportedCollection];
/** What the change feed names, per collection. */
export type ChangedKeys = Record<ExportedCollection, string[]>;

/** The records of one export batch: the driver fetches this many documents per round trip. */
const EXPORT_BATCH = 2000;
/** Lookups by key an export keeps in flight at once. */
const EXPORT_LOOKUPS_IN_FLIGHT = 16;

/** The archive's one-off migrations, each recorded in `migrations` once done. */
const KEYED_RECORDS_MIGRATION = 'keyed-records-v2';
/** Records when this archive's writers began keeping the change feed (`changes`). */
const CHANGE_FEED_MIGRATION = 'change-feed-v1';

/** The store cannot be reached (down, failing over, connection closed): worth retrying. */
export function isArchiveUnavailable(err: unknown): boolean {
  if (err instanceof GateError) return err.code === 'ARCHIVE_UNAVAILABLE';
  return (
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError
  );
}

/**
 * A store driver's error as one of ours: ARCHIVE_UNAVAILABLE, retryable, so that an activity
 * retries it as it retried the driver's error (a stepdown, a lost connection, a read past its
 * time limit); its kind and one bounded line of the driver's message. Undefined for anything else.
 */
export function archiveDriverError(err: unknown): GateError<'ARCHIVE_UNAVAILABLE'> | undefined {
  if (!(err instanceof MongoError)) return undefined;
  const kind = err instanceof MongoServerError && err.codeName ? `${err.name} ${err.codeName}` : err.name;
  return new GateError('ARCHIVE_UNAVAILABLE', `archive: ${kind}: ${boundedLine(err.message)}`, {
    detail: { kind },
  });
}

let handlesOf: (archive: Archive) => { db: Db; collections: Collections };

/**
 * Handle on one archive database. Callers see named queries and writes only; the MongoDB
 * handles stay inside src/archive (collectionsOf), so every read of the audit record is a
 * query with a name, a schema check on what it returns, and one place to index for it.
 */
export class Archive {
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #collections: Collections;
  /** Unknown: conditions are checked after a lookup by key, which is correct on every server. */
  readonly server: ArchiveServer;

  static {
    handlesOf = (archive) => ({ db: archive.#db, collections: archive.#collections });
  }

  constructor(
    client: MongoClient,
    db: Db,
    server: ArchiveServer = { kind: 'mongodb', lookupsByIdOnly: true },
  ) {
    this.#client = client;
    this.#db = db;
    this.#collections = collectionsIn(db);
    this.server = server;
  }

  /** The name of the archive database (part of an attestor's trust digest). */
  get databaseName(): string {
    return this.#db.databaseName;
  }

  /**
   * A filter on `_id` with a condition the update must still meet. MongoDB applies the
   * condition atomically through the `_id` index; on FerretDB 1.x the caller has checked it
   * on the document it just read, and the filter stays a lone `_id` so that it is served by key.
   */
  private byKey(id: string, condition: Record<string, unknown>): Record<string, unknown> {
    return this.server.lookupsByIdOnly ? { _id: id } : { _id: id, ...condition };
  }

  /** One document by `_id`, validated; null when there is none. */
  private async findById<N extends CollectionName>(collection: N, id: string): Promise<RecordOf<N> | null> {
    const col = this.#collections[collection] as unknown as Collection<DocOf<N>>;
    const doc = await col.findOne({ _id: id } as never);
    return doc && toRecord(collection, doc);
  }

  /** Appends `value` to the string list `field` of the document `id` in a keyed collection, once. */
  private async appendToKeyedList(
    collection: 'subjectVsas' | 'approvalSets',
    id: string,
    field: 'issued' | 'approvals',
    value: string,
  ): Promise<void> {
    await this.upsertByKey(collection, id, { $addToSet: { [field]: value } });
  }

  /** One upsert of the keyed document `id` (created with the schema version when absent). */
  private async upsertByKey(
    collection: 'subjectVsas' | 'approvalSets' | 'changes',
    id: string,
    update: Record<string, unknown>,
  ): Promise<void> {
    const col = this.#collections[collection] as unknown as Collection<{ _id: string }>;
    for (let attempt = 0; ; attempt++) {
      try {
        await col.updateOne(
          { _id: id },
          { ...update, $setOnInsert: { schemaVersion: SCHEMA_VERSION } } as never,
          { upsert: true },
        );
        return;
      } catch (err) {
        // Two first appends raced to insert the document: the loser appends to the winner's.
        if (!(err instanceof MongoServerError && err.code === 11000) || attempt >= 2) throw err;
      }
    }
  }

  /**
   * Names the records just written in the change feed: one upsert of this minute's bucket,
   * after the records themselves, so the feed never names a record the archive does not hold
   * (a crash in between is retried by the activity, which rewrites both).
   */
  private async noteChanges(changes: Partial<Record<ExportedCollection, readonly string[]>>): Promise<void> {
    const addToSet: Record<string, unknown> = {};
    for (const [collection, ids] of Object.entries(changes)) {
      if (ids.length > 0) addToSet[collection] = { $each: [...new Set(ids)] };
    }
    if (Object.keys(addToSet).length === 0) return;
    await this.upsertByKey('changes', changeMinute(new Date()), { $addToSet: addToSet });
  }

  /** Records, once, that this archive's writers keep the change feed from now on. */
  async markChangeFeedStart(): Promise<void> {
    const migrations = this.#db.collection<{ _id: string; at: Date }>('migrations');
    if (await migrations.findOne({ _id: CHANGE_FEED_MIGRATION }, READ_LIMIT)) return;
    try {
      await migrations.insertOne({ _id: CHANGE_FEED_MIGRATION, at: new Date() });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
  }

  /** Since when every write the read model exports is named in the change feed; undefined: not kept. */
  async changeFeedStart(): Promise<Date | undefined> {
    const migrations = this.#db.collection<{ _id: string; at: Date }>('migrations');
    const mark = await migrations.findOne({ _id: CHANGE_FEED_MIGRATION }, READ_LIMIT);
    return mark?.at;
  }

  /**
   * What the change feed names from the minute of `from` to the minute of `to`, both included:
   * each minute's bucket read by key (an empty minute has none), never a search.
   */
  async changesBetween(from: Date, to: Date): Promise<ChangedKeys> {
    const minutes: string[] = [];
    for (let t = Math.floor(from.getTime() / 60_000) * 60_000; t <= to.getTime(); t += 60_000) {
      minutes.push(changeMinute(new Date(t)));
    }
    const out = Object.fromEntries(EXPORTED_COLLECTIONS.map((c) => [c, new Set<string>()])) as Record<
      ExportedCollection,
      Set<string>
    >;
    await inParallel(minutes, EXPORT_LOOKUPS_IN_FLIGHT, async (minute) => {
      const bucket = await this.findById('changes', minute);
      for (const collection of EXPORTED_COLLECTIONS) {
        for (const id of bucket?.[collection] ?? []) out[collection].add(id);
      }
    });
    return Object.fromEntries(EXPORTED_COLLECTIONS.map((c) => [c, [...out[c]]])) as ChangedKeys;
  }

  /** The records named, each read by key (absent ones left out), in batches per collection. */
  async *exportRecordsByKey(keys: Partial<ChangedKeys>): AsyncIterable<ExportBatch> {
    for (const collection of EXPORTED_COLLECTIONS) {
      const ids = keys[collection] ?? [];
      for (let at = 0; at < ids.length; at += EXPORT_BATCH) {
        const records: unknown[] = [];
        const col = this.#collections[collection] as unknown as Collection<{ _id: string }>;
        await inParallel(ids.slice(at, at + EXPORT_BATCH), EXPORT_LOOKUPS_IN_FLIGHT, async (id) => {
          const doc = await col.findOne({ _id: id }, { projection: EXPORT_PROJECTION[collection] });
          if (doc) records.push(exportRecord(collection, doc));
        });
        if (records.length > 0) yield { collection, records } as ExportBatch;
      }
    }
  }

  /**
   * Every record of the exported collections, in batches, the collections read at once (a
   * scan of each: the full export, `audit export --rebuild`). VSAs come without their raw bytes.
   */
  async *exportBatches(): AsyncIterable<ExportBatch> {
    const scan = async function* (this: Archive, collection: ExportedCollection): AsyncIterable<ExportBatch> {
      const col = this.#collections[collection] as unknown as Collection<{ _id: string }>;
      const cursor = col
        .find({}, { ...SCAN_LIMIT, projection: EXPORT_PROJECTION[collection] })
        .batchSize(EXPORT_BATCH);
      let records: unknown[] = [];
      for await (const doc of cursor) {
        records.push(exportRecord(collection, doc));
        if (records.length === EXPORT_BATCH) {
          yield { collection, records } as ExportBatch;
          records = [];
        }
      }
      if (records.length > 0) yield { collection, records } as ExportBatch;
    };
    yield* mergeAsync(EXPORTED_COLLECTIONS.map((c) => scan.call(this, c)));
  }

  /**
   * Builds the keyed records (releases, issued VSAs per subject, approvals per decision) of an
   * archive written before they existed, once: every step is the idempotent write the publish
   * path makes, so a crash half-way is finished by the next start.
   */
  async backfillKeyedRecords(): Promise<void> {
    const migrations = this.#db.collection<{ _id: string; at: Date }>('migrations');
    if (await migrations.findOne({ _id: KEYED_RECORDS_MIGRATION }, READ_LIMIT)) return;
    for await (const doc of this.#collections.decisions
      .find({ status: 'published' }, SCAN_LIMIT)
      .sort({ decidedAt: 1, _id: 1 })) {
      const decision = toRecord('decisions', doc);
      if (decision.published) {
        await this.recordRelease(decision, decision.published);
        await this.recordPublication(decision._id, decision.published);
      }
    }
    for await (const doc of this.#collections.vsas
      .find({ direction: 'issued' }, SCAN_LIMIT)
      .sort({ at: 1 })) {
      await this.appendToKeyedList('subjectVsas', doc.subjectDigest, 'issued', doc._id);
    }
    for await (const doc of this.#collections.approvals.find({}, SCAN_LIMIT).sort({ at: 1 })) {
      await this.appendToKeyedList('approvalSets', doc.decisionId, 'approvals', doc._id);
    }
    try {
      await migrations.insertOne({ _id: KEYED_RECORDS_MIGRATION, at: new Date() });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
  }

  /**
   * Revokes an artifact digest: one record per digest (`_id`), inserted once. The first
   * revocation stands: revoking again (a retried activity, a second administrator) records
   * nothing and returns the stored one with `recorded: false`.
   */
  async recordRevocation(
    input: RevocationInput,
  ): Promise<{ revocation: RevocationRecord; recorded: boolean }> {
    const parsed = parseInput(RevocationInputSchema, input, 'revocation');
    const record: RevocationRecord = {
      _id: parsed.subjectDigest,
      schemaVersion: SCHEMA_VERSION,
      ...parsed,
      at: new Date(parsed.at).toISOString(),
    };
    if ((await this.insertIfAbsent('revocations', record)) === 'inserted')
      return { revocation: record, recorded: true };
    const stored = await this.revocationOf(parsed.subjectDigest);
    if (!stored) {
      throw new GateError('ARCHIVE_ERROR', `revocation ${parsed.subjectDigest} vanished after a conflict`, {
        detail: { collection: 'revocations', id: parsed.subjectDigest },
      });
    }
    return { revocation: stored, recorded: false };
  }

  /**
   * The revocation of an artifact digest, or null: one lookup by key. The publish path denies
   * a revoked digest; consumers with archive access (verify-image, the admission webhook) and
   * the drift monitor treat it as not verified.
   */
  async revocationOf(subjectDigest: string): Promise<RevocationRecord | null> {
    parseInput(Sha256DigestSchema, subjectDigest, 'subject digest');
    return this.findById('revocations', subjectDigest);
  }

  /**
   * Consumes a request seal for one run: the first run to present the nonce owns it. Returns
   * the record that owns it, which names another run when the seal was used before; a
   * retried claim by the same run finds its own record.
   */
  async claimRequestSeal(
    input: Omit<RequestSealRecord, 'schemaVersion' | '_id'> & { nonce: string },
  ): Promise<RequestSealRecord> {
    const { nonce, ...rest } = input;
    const record: RequestSealRecord = { _id: nonce, schemaVersion: SCHEMA_VERSION, ...rest };
    const col = this.#collections.requestSeals;
    try {
      await col.insertOne(toDoc('requestSeals', record));
      return record;
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
    const owner = await this.findById('requestSeals', nonce);
    if (!owner)
      throw new GateError('ARCHIVE_ERROR', `request seal ${nonce} collides with another record`, {
        detail: { collection: 'requestSeals', id: nonce },
      });
    return owner;
  }

  /**
   * Records the manifests the gate just wrote under attachment tags of `repository` (`host/
   * repo`) for `subjectDigest`: each tag's record names the latest one (an upsert by key).
   */
  async recordAttachmentTags(
    repository: string,
    subjectDigest: string,
    tags: Array<{ tag: string; digest: string }>,
    at: string,
  ): Promise<void> {
    for (const { tag, digest } of tags) {
      const record: AttachmentTagRecord = {
        _id: attachmentTagId(repository, tag),
        schemaVersion: SCHEMA_VERSION,
        repository,
        tag,
        subjectDigest,
        digest,
        at,
      };
      const { _id, ...fields } = toDoc('attachmentTags', record);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#collections.attachmentTags.updateOne({ _id }, { $set: fields }, { upsert: true });
          break;
        } catch (err) {
          // Two first writes raced to insert the document: the loser updates the winner's.
          if (!(err instanceof MongoServerError && err.code === 11000) || attempt >= 2) throw err;
        }
      }
    }
  }

  /** What the gate last wrote under the attachment tag `repository:tag` (one lookup by key), or null. */
  async attachmentTag(repository: string, tag: string): Promise<AttachmentTagRecord | null> {
    return this.findById('attachmentTags', attachmentTagId(repository, tag));
  }

  /** What was last published at `repository:tag` (one lookup by key), or null. */
  async lastRelease(repository: string, tag: string): Promise<ReleaseRecord | null> {
    return this.findById('releases', releaseId(repository, tag));
  }

  /**
   * The VSAs slsa-gate issued for an artifact digest, newest first, at most `limit`: one
   * lookup of the subject's list and one per VSA, all by key. Stored documents that no longer
   * fit their schema are returned as errors, not thrown, so the readable ones still count.
   */
  async issuedVsas(
    subjectDigest: string,
    limit: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ vsas: VsaRecord[]; unreadable: GateError[] }> {
    parseInput(Sha256DigestSchema, subjectDigest, 'subject digest');
    const list = await this.#collections.subjectVsas.findOne({ _id: subjectDigest }, options);
    const ids = (list?.issued ?? []).slice(-limit).reverse();
    const vsas: VsaRecord[] = [];
    const unreadable: GateError[] = [];
    for (const id of ids) {
      const doc = await this.#collections.vsas.findOne({ _id: id }, options);
      if (!doc) continue;
      try {
        vsas.push(toRecord('vsas', doc));
      } catch (err) {
        if (!(err instanceof GateError)) throw err;
        unreadable.push(err);
      }
    }
    return { vsas, unreadable };
  }

  /** Archived attestations by content digest, each looked up by key; absent ones are left out. */
  async getAttestations(digests: readonly string[]): Promise<Map<string, AttestationRecord>> {
    const out = new Map<string, AttestationRecord>();
    for (const digest of new Set(digests)) {
      const record = await this.findById('attestations', digest);
      if (record) out.set(digest, record);
    }
    return out;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#client.close();
  }

  /**
   * Stores the decision of one publish attempt with its exceptions; safe to retry. `created`
   * is true for the call that stored it, false for a retry that found it stored.
   */
  async recordDecision(input: DecisionInput): Promise<{ decisionId: string; created: boolean }> {
    const { parsed, record } = buildDecisionRecord(input);
    const insertion = await this.insertOnce('decisions', record, (stored) => {
      // Compare what is stored, recomputed, not the digest it claims.
      return decisionContentDigest(stored) === record.contentDigest;
    });
    for (const [i, exception] of parsed.exceptions.entries()) {
      await this.insertOnce('exceptions', {
        _id: `${parsed.decisionId}#${i}`,
        schemaVersion: SCHEMA_VERSION,
        decisionId: parsed.decisionId,
        ...exception,
      });
    }
    await this.insertOnce(
      'events',
      {
        _id: `${parsed.decisionId}|created`,
        schemaVersion: SCHEMA_VERSION,
        decisionId: parsed.decisionId,
        from: null,
        to: 'decided',
        at: record.decidedAt,
        by: parsed.requester,
      },
      () => true, // the decision itself was compared above
    );
    await this.noteChanges({
      decisions: [parsed.decisionId],
      exceptions: parsed.exceptions.map((_, i) => `${parsed.decisionId}#${i}`),
      events: [`${parsed.decisionId}|created`],
    });
    return { decisionId: parsed.decisionId, created: insertion === 'inserted' };
  }

  /** Stores attestations content-addressed by the sha256 of their raw bytes, and records each sighting. */
  async storeAttestations(atts: AttestationInput[]): Promise<{ digests: string[] }> {
    const digests: string[] = [];
    for (const [i, att] of atts.entries()) {
      const parsed = parseInput(AttestationInputSchema, att, `attestation[${i}]`);
      const raw = Buffer.from(parsed.raw, 'base64');
      if (raw.length > MAX_RAW_BYTES) {
        throw new GateError(
          'LIMIT_EXCEEDED',
          `attestation[${i}] from ${parsed.origin} is ${raw.length} bytes`,
          {
            detail: { index: i, origin: parsed.origin, size: raw.length, max: MAX_RAW_BYTES },
          },
        );
      }
      const digest = sha256Digest(raw);
      const fetchedAt = new Date(parsed.fetchedAt).toISOString();
      const record: AttestationRecord = {
        _id: digest,
        schemaVersion: SCHEMA_VERSION,
        raw: raw.toString('base64'),
        size: raw.length,
        predicateType: parsed.predicateType,
        subjectNames: parsed.subjects.flatMap((s) => (s.name === undefined ? [] : [s.name])),
        subjectDigests: parsed.subjects.flatMap((s) =>
          Object.entries(s.digest).map(([alg, hex]) => `${alg}:${hex.toLowerCase()}`),
        ),
        signerIdentity: parsed.signerIdentity,
        signerIssuer: parsed.signerIssuer,
        signerKeyId: parsed.signerKeyId,
        builderId: parsed.builderId,
        sourceRepo: parsed.sourceRepo,
        sourceCommit: parsed.sourceCommit,
        origin: parsed.origin,
        fetchedAt,
      };
      // The same bytes again: the stored document stands; this sighting and its facts are appended.
      await this.insertOnce('attestations', record, () => true);
      const { _id: _, schemaVersion: _v, raw: _r, size: _s, origin: _o, fetchedAt: _f, ...facts } = record;
      await this.insertOnce('sightings', {
        _id: sha256Digest(canonicalJson({ digest, origin: parsed.origin, fetchedAt })),
        schemaVersion: SCHEMA_VERSION,
        digest,
        origin: parsed.origin,
        fetchedAt,
        facts: canonicalJson(facts),
      });
      digests.push(digest);
    }
    await this.noteChanges({ attestations: digests });
    return { digests };
  }

  /** Stores the text of a policy version under the digest the policy layer computed for it. */
  async storePolicy(digest: string, text: string): Promise<{ digest: string }> {
    parseInput(Sha256DigestSchema, digest, 'policy digest');
    const textDigest = sha256Digest(text);
    const id = `${digest}|${textDigest}`;
    await this.insertOnce(
      'policies',
      {
        _id: id,
        schemaVersion: SCHEMA_VERSION,
        digest,
        textDigest,
        text,
        firstStoredAt: new Date().toISOString(),
      },
      undefined,
      ['firstStoredAt'],
    );
    await this.noteChanges({ policies: [id] });
    return { digest };
  }

  /**
   * Makes a policy text the one in force: a new version, unless the newest version already
   * has exactly this text (a worker restarting with the same SLSA_GATE_POLICY adds nothing).
   */
  async loadPolicy(input: {
    digest: string;
    text: string;
    loadedBy: string;
    origin: string;
  }): Promise<{ version: PolicyVersionRecord; created: boolean }> {
    parseInput(NameSchema, input.loadedBy, 'loadedBy');
    parseInput(NameSchema, input.origin, 'origin');
    await this.storePolicy(input.digest, input.text);
    const textDigest = sha256Digest(input.text);
    // Two loads racing for the same number: the unique `_id` lets one win, the other takes the next.
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.currentPolicyVersion();
      if (current && current.digest === input.digest && current.textDigest === textDigest)
        return { version: current, created: false };
      const version = (current?.version ?? 0) + 1;
      const record: PolicyVersionRecord = {
        _id: `v${version}`,
        schemaVersion: SCHEMA_VERSION,
        version,
        digest: input.digest,
        textDigest,
        loadedBy: input.loadedBy,
        loadedAt: new Date().toISOString(),
        origin: input.origin,
      };
      try {
        await this.#collections.policyVersions.insertOne(toDoc('policyVersions', record) as never);
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        continue;
      }
      await this.advancePolicyHead(version);
      return { version: record, created: true };
    }
    throw new GateError('ARCHIVE_ERROR', 'policy load lost five races for the next version number');
  }

  /**
   * The newest policy version (the one in force), or undefined when none was loaded: the head
   * record, then `v<n>` and a probe of `v<n+1>`, all by key (the publish path reads it).
   */
  async currentPolicyVersion(): Promise<PolicyVersionRecord | undefined> {
    const head = await this.findById('policyHead', 'current');
    let version = head?.version ?? 0;
    let current = version > 0 ? await this.findById('policyVersions', `v${version}`) : null;
    // A version inserted just before a crash, or an archive from before the head record.
    for (;;) {
      const next = await this.findById('policyVersions', `v${version + 1}`);
      if (!next) break;
      current = next;
      version++;
    }
    if (version > (head?.version ?? 0)) await this.advancePolicyHead(version);
    return current ?? undefined;
  }

  /** Moves the policy head to `version` unless it is already there or beyond. */
  private async advancePolicyHead(version: number): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const head = await this.findById('policyHead', 'current');
      if (!head) {
        const record = { _id: 'current' as const, schemaVersion: SCHEMA_VERSION, version };
        if ((await this.insertIfAbsent('policyHead', record)) === 'inserted') return;
        continue;
      }
      if (head.version >= version) return;
      const result = await this.#collections.policyHead.updateOne(
        this.byKey('current', { version: head.version }) as never,
        { $set: { version } },
      );
      if (result.matchedCount === 1) return;
    }
  }

  /** The policy in force with its text; undefined when none was loaded. */
  async currentPolicy(): Promise<{ version: PolicyVersionRecord; text: string } | undefined> {
    const version = await this.currentPolicyVersion();
    if (!version) return undefined;
    const doc = await this.#collections.policies.findOne({ _id: `${version.digest}|${version.textDigest}` });
    if (!doc)
      throw new GateError('ARCHIVE_ERROR', `policy version ${version.version} has no stored text`, {
        detail: { version: version.version, digest: version.digest },
      });
    const text = toRecord('policies', doc).text;
    if (sha256Digest(text) !== version.textDigest)
      throw new GateError(
        'ARCHIVE_ERROR',
        `the stored text of policy version ${version.version} was altered`,
        {
          detail: { version: version.version },
        },
      );
    return { version, text };
  }

  /** Policy versions, newest first (at most `limit`). */
  async policyHistory(limit = 100): Promise<PolicyVersionRecord[]> {
    const docs = await this.#collections.policyVersions
      .find({})
      .sort({ version: -1 })
      .limit(Math.min(Math.max(1, limit), 1000))
      .toArray();
    return docs.map((d: unknown) => toRecord('policyVersions', d));
  }

  /** Stores a VSA issued for, or consumed by, a decision. */
  async storeVsa(input: VsaInput): Promise<{ digest: string }> {
    const parsed = parseInput(VsaInputSchema, input, 'vsa');
    const raw = Buffer.from(parsed.raw, 'base64');
    if (raw.length > MAX_RAW_BYTES) {
      throw new GateError('LIMIT_EXCEEDED', `VSA for decision ${parsed.decisionId} is ${raw.length} bytes`, {
        detail: { size: raw.length, max: MAX_RAW_BYTES },
      });
    }
    const digest = sha256Digest(raw);
    const id = `${parsed.decisionId}|${parsed.direction}|${digest}`;
    await this.insertOnce('vsas', {
      _id: id,
      schemaVersion: SCHEMA_VERSION,
      digest,
      ...parsed,
      raw: raw.toString('base64'),
      at: new Date(parsed.at).toISOString(),
    });
    if (parsed.direction === 'issued') {
      await this.appendToKeyedList('subjectVsas', parsed.subjectDigest, 'issued', id);
    }
    await this.noteChanges({ vsas: [id] });
    return { digest };
  }

  /**
   * Moves a decision from `from` to `to` and records the event. Already moved there from
   * `from`: success (a retry). Illegal move, or the decision is elsewhere: ARCHIVE_ERROR.
   * `published` is reached only through `markPublished`, which records where.
   */
  async transition(
    decisionId: string,
    from: DecisionStatus,
    to: DecisionStatus,
    by?: string,
    data?: Record<string, unknown>,
    /** When the move happened (ISO-8601), for an end archived after the fact; default now. */
    at?: string,
  ): Promise<{ status: DecisionStatus }> {
    const fromStatus = parseInput(DecisionStatusSchema, from, 'from');
    const toStatus = parseInput(DecisionStatusSchema, to, 'to');
    if (by !== undefined) parseInput(NameSchema, by, 'by');
    const happened =
      at === undefined ? undefined : new Date(parseInput(z.iso.datetime({ offset: true }), at, 'at'));
    if (toStatus === 'published') {
      throw new GateError('ARCHIVE_ERROR', `decision ${decisionId}: use markPublished to publish`, {
        detail: { decisionId },
      });
    }
    await this.move(decisionId, fromStatus, toStatus, { by, data, ...(happened ? { at: happened } : {}) });
    return { status: toStatus };
  }

  /** Records an approver's verdict on a decision awaiting approval; one verdict per approver. */
  async recordApproval(decisionId: string, approval: ApprovalInput): Promise<{ approvalId: string }> {
    const parsed = parseInput(ApprovalInputSchema, approval, 'approval');
    const decision = await this.requireDecision(decisionId);
    if (decision.outcome !== 'NEEDS_APPROVAL') {
      throw new GateError(
        'ARCHIVE_ERROR',
        `decision ${decisionId} is ${decision.outcome}: nothing to approve`,
        {
          detail: { decisionId, outcome: decision.outcome },
        },
      );
    }
    const record: ApprovalRecord = {
      _id: `${decisionId}|${parsed.approver}`,
      schemaVersion: SCHEMA_VERSION,
      decisionId,
      ...parsed,
      at: new Date(parsed.at).toISOString(),
    };
    if (decision.status !== 'awaiting-approval') {
      // Only an exact retry of a verdict already given is accepted once the wait is over.
      const stored = await this.findById('approvals', record._id);
      if (!stored || canonicalJson(stored) !== canonicalJson(record)) {
        throw new GateError(
          'ARCHIVE_ERROR',
          `decision ${decisionId} is ${decision.status}, not awaiting approval`,
          {
            detail: { decisionId, status: decision.status },
          },
        );
      }
      await this.appendToKeyedList('approvalSets', decisionId, 'approvals', record._id);
      await this.noteChanges({ approvals: [record._id] });
      return { approvalId: record._id };
    }
    await this.insertOnce('approvals', record);
    await this.appendToKeyedList('approvalSets', decisionId, 'approvals', record._id);
    await this.noteChanges({ approvals: [record._id] });
    return { approvalId: record._id };
  }

  /**
   * Marks a decision published, recording where. Exactly one `published` state per decision:
   * a retry with the same destination succeeds, a different one is ARCHIVE_ERROR, and the
   * digest must be the one decided on.
   */
  async markPublished(decisionId: string, published: PublishedInput): Promise<{ status: 'published' }> {
    const parsed = parseInput(PublishedInputSchema, published, 'published');
    const target = { ...parsed, at: new Date(parsed.at).toISOString() };
    const decision = await this.requireDecision(decisionId);
    if (parsed.digest !== decision.artifact.digest) {
      throw new GateError(
        'ARCHIVE_ERROR',
        `decision ${decisionId} was made on ${decision.artifact.digest}, not ${parsed.digest}`,
        { detail: { decisionId, decided: decision.artifact.digest, published: parsed.digest } },
      );
    }
    if (decision.status === 'published') {
      if (canonicalJson(decision.published) !== canonicalJson(target)) {
        throw new GateError('ARCHIVE_ERROR', `decision ${decisionId} is already published elsewhere`, {
          detail: { decisionId, published: decision.published, requested: target },
        });
      }
      // A retry after a crash between the move and the keyed records finishes the step.
      await this.recordRelease(decision, target);
      await this.recordPublication(decisionId, target);
      return { status: 'published' };
    }
    const { at, ...where } = parsed;
    await this.move(decisionId, decision.status, 'published', {
      data: target,
      set: { published: { ...where, at: new Date(at) } },
      statusAt: new Date(at),
    });
    await this.recordRelease(decision, target);
    await this.recordPublication(decisionId, target);
    return { status: 'published' };
  }

  /** Records the first decision that published this digest to this destination and tag (kept if present). */
  private async recordPublication(
    decisionId: string,
    published: { repository: string; digest: string; tag?: string },
  ): Promise<void> {
    await this.insertIfAbsent('publications', {
      _id: publicationId(published.repository, published.digest, published.tag),
      schemaVersion: SCHEMA_VERSION,
      decisionId,
    });
  }

  /**
   * Makes the release record of the decision's `repository:tag` name it, unless it already
   * names a decision decided later (the newest published decision there wins, as the rollback
   * check expects). Idempotent; a concurrent publish to the same tag re-reads and compares again.
   */
  private async recordRelease(
    decision: DecisionRecord,
    published: { repository: string; digest: string; tag?: string; at: string },
  ): Promise<void> {
    if (published.tag === undefined) return;
    const id = releaseId(published.repository, published.tag);
    const mine: ReleaseRecord = {
      _id: id,
      schemaVersion: SCHEMA_VERSION,
      repository: published.repository,
      tag: published.tag,
      decisionId: decision._id,
      digest: published.digest,
      ...(decision.source?.ref === undefined ? {} : { sourceRef: decision.source.ref }),
      decidedAt: decision.decidedAt,
      publishedAt: new Date(published.at).toISOString(),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.findById('releases', id);
      if (!stored) {
        if ((await this.insertIfAbsent('releases', mine)) === 'inserted') return;
        continue;
      }
      if (stored.decisionId === mine.decisionId) return;
      const storedAt = Date.parse(stored.decidedAt);
      const mineAt = Date.parse(mine.decidedAt);
      if (storedAt > mineAt || (storedAt === mineAt && stored.decisionId > mine.decisionId)) return;
      const { _id: _, ...fields } = toDoc('releases', mine);
      const result = await this.#collections.releases.updateOne(
        this.byKey(id, { decisionId: stored.decisionId }) as never,
        { $set: fields },
      );
      if (result.matchedCount === 1) return;
    }
    throw new GateError('ARCHIVE_ERROR', `release record ${id} kept changing while it was being updated`, {
      detail: { collection: 'releases', id },
    });
  }

  /**
   * The one place a status changes. The event `_id` is `<decisionId>|from:<status>`: the
   * lifecycle has no cycles, so a status is left at most once, and the unique `_id` is the
   * lock. It is taken (inserted) before the status is updated because FerretDB 1.x does not
   * make a conditional update atomic against a concurrent one; a unique insert it does.
   */
  private async move(
    decisionId: string,
    from: DecisionStatus,
    to: DecisionStatus,
    options: { by?: string; data?: unknown; set?: Record<string, unknown>; statusAt?: Date; at?: Date },
  ): Promise<void> {
    const decision = await this.requireDecision(decisionId);
    const eventId = `${decisionId}|from:${from}`;
    const retried = decision.status === to && (await this.findById('events', eventId))?.to === to;
    if (!retried) {
      if (decision.status !== from) {
        throw new GateError(
          'ARCHIVE_ERROR',
          `decision ${decisionId} is ${decision.status}, not ${from}: cannot move it to ${to}`,
          { detail: { decisionId, from, to, current: decision.status } },
        );
      }
      const refusal = transitionRefusal(decision.outcome, from, to);
      if (refusal) {
        throw new GateError('ARCHIVE_ERROR', `decision ${decisionId}: ${refusal}`, {
          detail: { decisionId, from, to },
        });
      }
      if (to === 'approved') await this.requireApproval(decisionId);
    }
    const data = options.data === undefined ? undefined : canonicalJson(options.data);
    const now = (options.at ?? new Date()).toISOString();
    const event = {
      _id: eventId,
      schemaVersion: SCHEMA_VERSION,
      decisionId,
      from,
      to,
      at: now,
      by: options.by,
      data,
    };
    await this.insertOnce('events', event, (stored) => stored.to === to && stored.data === data);
    await this.noteChanges({ events: [eventId] });
    const result = await this.#collections.decisions.updateOne(
      this.byKey(decisionId, { status: from }) as never,
      { $set: { ...options.set, status: to, statusAt: options.statusAt ?? new Date(now) } },
    );
    if (result.matchedCount === 0) {
      const current = await this.requireDecision(decisionId);
      if (current.status !== to) {
        throw new GateError(
          'ARCHIVE_ERROR',
          `decision ${decisionId} is ${current.status} after moving to ${to}`,
          {
            detail: { decisionId, from, to, current: current.status },
          },
        );
      }
    }
  }

  /** The decision with this id, or null. */
  async getDecision(decisionId: string): Promise<DecisionRecord | null> {
    const doc = await this.#collections.decisions.findOne({ _id: decisionId });
    return doc && toRecord('decisions', doc);
  }

  /**
   * The decision that published `digest` to `repository` (host/path) under `tag` (or untagged),
   * oldest first: one publish per (destination, digest, tag) (docs/security-model.md).
   */
  async findPublished(repository: string, digest: string, tag?: string): Promise<DecisionRecord | undefined> {
    parseInput(Sha256DigestSchema, digest, 'digest');
    parseInput(NameSchema, repository, 'repository');
    // By key: the publication record, then its decision (the publish path calls this).
    const publication = await this.findById('publications', publicationId(repository, digest, tag));
    if (!publication) return undefined;
    const decision = await this.findById('decisions', publication.decisionId);
    return decision ?? undefined;
  }

  /** Every decision about an artifact digest (`sha256:<hex>`), newest first (at most 1000). */
  async findDecisionsByDigest(digest: string): Promise<DecisionRecord[]> {
    parseInput(Sha256DigestSchema, digest, 'digest');
    const docs = await this.#collections.decisions
      .find({ 'artifact.digest': digest })
      .sort({ decidedAt: -1, _id: -1 })
      .limit(1000)
      .toArray();
    return docs.map((doc) => toRecord('decisions', doc));
  }

  /**
   * Records what a monitor run saw. The first sighting archives the finding; a later run moves
   * its last-seen run and time and counts it, so a standing finding is one record however many
   * runs see it; the same run recording it again (a retried activity) changes nothing. A
   * finding a run closed (closeDriftNotSeen) and seen again starts anew: its `firstSeen` and
   * `firstRunId` are this run's, so it is announced again. `isNew`: this run saw it first
   * (also on that run's retry, so its notice is not lost). By `_id` only.
   */
  async recordDrift(
    sighting: DriftSighting,
    run: { workflowId: string; runId: string; at: string },
  ): Promise<{ driftId: string; isNew: boolean; firstSeen: string }> {
    const id = driftId(sighting);
    const at = new Date(run.at);
    const seen = { workflowId: run.workflowId, runId: run.runId, at, reason: sighting.reason };
    const reopened = await this.#collections.drift.updateOne(
      { _id: id, runId: { $ne: run.runId }, clearedAt: { $exists: true } },
      {
        $set: { ...seen, firstSeen: at, firstRunId: run.runId },
        $unset: { clearedAt: '' },
        $inc: { count: 1 },
      },
    );
    const again =
      reopened.matchedCount === 1
        ? reopened
        : await this.#collections.drift.updateOne(
            { _id: id, runId: { $ne: run.runId } },
            { $set: seen, $inc: { count: 1 } },
          );
    if (again.matchedCount === 0) {
      await this.insertIfAbsent('drift', {
        _id: id,
        schemaVersion: SCHEMA_VERSION,
        ...sighting,
        ...run,
        firstSeen: run.at,
        firstRunId: run.runId,
        count: 1,
      });
    }
    const stored = await this.findById('drift', id);
    if (!stored) throw new GateError('ARCHIVE_ERROR', `drift ${id} is not stored after its write`);
    return {
      driftId: id,
      isNew: stored.firstRunId === run.runId,
      firstSeen: new Date(stored.firstSeen ?? stored.at).toISOString(),
    };
  }

  /**
   * Closes the open findings of `repository` that `run` did not see, once the run has read the
   * whole repository (every tag page and the digests asked for by digest): that drift is gone,
   * and if it comes back, recordDrift announces it again. Returns how many were closed.
   */
  async closeDriftNotSeen(repository: string, run: { runId: string; at: string }): Promise<number> {
    const closed = await this.#collections.drift.updateMany(
      { repository, runId: { $ne: run.runId }, clearedAt: { $exists: false } },
      { $set: { clearedAt: new Date(run.at) } },
    );
    return closed.modifiedCount;
  }

  /**
   * Digests this gate knows and does not vouch for, newest first, at most `limit` of each
   * source: every revoked digest, and candidates whose publish ended without publishing
   * (denied, rejected, expired). The drift monitor asks each release repository whether it
   * serves them by digest: a registry lists no untagged manifests (docs/consumers.md#the-drift-monitor).
   * Read through the `status` index and the small revocations collection.
   */
  async digestsNotVouchedFor(limit: number): Promise<string[]> {
    const [revoked, refused] = await Promise.all([
      this.#collections.revocations.find({}).sort({ at: -1, _id: -1 }).limit(limit).toArray(),
      this.#collections.decisions
        .find({ status: { $in: ['denied', 'rejected', 'expired'] } })
        .sort({ decidedAt: -1 })
        .limit(limit)
        .project<{ artifact: { digest: string } }>({ 'artifact.digest': 1 })
        .toArray(),
    ]);
    return [...new Set([...revoked.map((r) => r._id), ...refused.map((d) => d.artifact.digest)])];
  }

  /** Drift findings, newest first, at most `limit` (1–1000), of one repository (`host/repo`) or all. */
  async listDrift(opts: { repository?: string; limit: number }): Promise<DriftRecord[]> {
    if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 1000) {
      throw new GateError('INPUT_INVALID', `limit ${opts.limit}: expected 1 to 1000`);
    }
    const docs = await this.#collections.drift
      .find(opts.repository === undefined ? {} : { repository: opts.repository })
      .sort({ at: -1, _id: -1 })
      .limit(opts.limit)
      .toArray();
    return docs.map((doc) => toRecord('drift', doc));
  }

  /**
   * How many decisions await an approval, and since when the longest-waiting one has: read
   * from the shared record, so every worker and API process reports the same gate-wide value
   * (the approvals gauges, docs/operations.md#metrics). Matched on the `status` index.
   */
  async awaitingApproval(): Promise<{ count: number; oldestSince?: string }> {
    const filter = { status: 'awaiting-approval' as const };
    const count = await this.#collections.decisions.countDocuments(filter, { maxTimeMS: 10_000 });
    if (count === 0) return { count };
    const oldest = await this.#collections.decisions.findOne(filter, {
      sort: { statusAt: 1 },
      projection: { statusAt: 1 },
      maxTimeMS: 10_000,
    });
    return { count, ...(oldest ? { oldestSince: oldest.statusAt.toISOString() } : {}) };
  }

  /** The approvals given on a decision, oldest first. */
  async listApprovals(decisionId: string): Promise<ApprovalRecord[]> {
    const docs = await this.#collections.approvals.find({ decisionId }).sort({ at: 1 }).toArray();
    return docs.map((doc) => toRecord('approvals', doc));
  }

  private async requireDecision(decisionId: string): Promise<DecisionRecord> {
    const decision = await this.getDecision(decisionId);
    if (!decision) {
      throw new GateError('ARCHIVE_ERROR', `no decision ${decisionId} in the archive`, {
        detail: { decisionId },
      });
    }
    return decision;
  }

  private async requireApproval(decisionId: string): Promise<void> {
    // By key: the decision's approval list, then each approval.
    const set = await this.findById('approvalSets', decisionId);
    const approvals: ApprovalRecord[] = [];
    for (const id of set?.approvals ?? []) {
      const approval = await this.findById('approvals', id);
      if (approval) approvals.push(approval);
    }
    if (!approvals.some((a) => a.verdict === 'approve') || approvals.some((a) => a.verdict === 'reject')) {
      throw new GateError(
        'ARCHIVE_ERROR',
        `decision ${decisionId} has no approval that allows it to proceed`,
        {
          detail: { decisionId, approvals: approvals.map((a) => `${a.approver}:${a.verdict}`) },
        },
      );
    }
  }

  /** Inserts a record unless its `_id` is taken; the caller decides what a taken key means. */
  private async insertIfAbsent<N extends CollectionName>(
    collection: N,
    record: RecordOf<N>,
  ): Promise<'inserted' | 'existing'> {
    const col = this.#collections[collection] as unknown as Collection<DocOf<N>>;
    try {
      await col.insertOne(toDoc(collection, record) as never);
      return 'inserted';
    } catch (err) {
      if (err instanceof MongoServerError && err.code === 11000) return 'existing';
      throw err;
    }
  }

  /**
   * Inserts a record under its deterministic `_id`. On E11000 the stored document is read
   * back: the same record (by `same`, or equal apart from `ignore`d fields) is a successful
   * retry; anything else is a conflict and nothing is overwritten.
   */
  private async insertOnce<N extends CollectionName>(
    collection: N,
    record: RecordOf<N>,
    same?: (stored: RecordOf<N>) => boolean,
    ignore: string[] = [],
  ): Promise<'inserted' | 'existing'> {
    const doc = toDoc(collection, record);
    const col = this.#collections[collection] as unknown as Collection<DocOf<N>>;
    try {
      await col.insertOne(doc as never);
      return 'inserted';
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
    const id = (record as { _id: string })._id;
    const found = await col.findOne({ _id: id } as never);
    if (!found) {
      throw new GateError(
        'ARCHIVE_ERROR',
        `${collection} ${id} collides with another record on a unique key`,
        {
          detail: { collection, id },
        },
      );
    }
    const stored = toRecord(collection, found);
    // Compare normalised forms: the same instant may have been written as another ISO string.
    const mine = toRecord(collection, doc);
    const equal = same
      ? same(stored)
      : canonicalJson(omit(stored, ignore)) === canonicalJson(omit(mine, ignore));
    if (!equal) {
      throw new GateError('ARCHIVE_ERROR', `a different ${collection} record is already stored under ${id}`, {
        detail: { collection, id },
      });
    }
    return 'existing';
  }
}

/**
 * The stored form (as JSON) of a new decision: validated input plus the derived, indexed
 * fields and the content digest. Status `decided`. INPUT_INVALID on a bad or inconsistent input.
 */
export function buildDecisionRecord(input: DecisionInput): {
  parsed: z.output<typeof DecisionInputSchema>;
  record: DecisionRecord;
} {
  const parsed = parseInput(DecisionInputSchema, input, 'decision');
  const failing = parsed.checks.filter((c) => c.result === 'FAIL');
  if (parsed.outcome === 'PASSED' && failing.length > 0) {
    throw new GateError('INPUT_INVALID', `decision ${parsed.decisionId} is PASSED with failing checks`, {
      detail: { decisionId: parsed.decisionId, failing: failing.map((c) => c.id) },
    });
  }
  const decidedAt = new Date(parsed.decidedAt).toISOString();
  const immutable = {
    _id: parsed.decisionId,
    schemaVersion: SCHEMA_VERSION,
    workflowId: parsed.workflowId,
    runId: parsed.runId,
    artifact: parsed.artifact,
    requester: parsed.requester,
    checks: parsed.checks,
    failingCodes: [...new Set(failing.map((c) => c.code ?? 'UNSPECIFIED'))],
    failingChecks: [...new Set(failing.map((c) => c.id))],
    outcome: parsed.outcome,
    policy: parsed.policy,
    builder: parsed.builder,
    source: parsed.source,
    attestationDigests: parsed.attestationDigests,
    ...(parsed.rejected.length > 0 ? { rejected: parsed.rejected } : {}),
    evidenceDigest: computeEvidenceDigest(parsed.attestationDigests, parsed.policy.digest),
    exceptionCount: parsed.exceptions.length,
    requestedAt: parsed.requestedAt && new Date(parsed.requestedAt).toISOString(),
    decidedAt,
    day: decidedAt.slice(0, 10),
    timings: parsed.timings,
  };
  const record: DecisionRecord = {
    ...immutable,
    contentDigest: decisionContentDigest(immutable),
    status: 'decided',
    statusAt: decidedAt,
  };
  return { parsed, record };
}

/** sha256 over the canonical JSON of a decision without its lifecycle fields. */
export function decisionContentDigest(decision: object): string {
  return sha256Digest(canonicalJson(omit(decision, MUTABLE_DECISION_FIELDS)));
}

function omit(value: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  for (const key of keys) delete out[key];
  return out;
}

function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new GateError('INPUT_INVALID', `invalid ${what}:\n${z.prettifyError(result.error)}`, {
      detail: { what, issues: result.error.issues.map((i) => i.path.join('.')) },
    });
  }
  return result.data;
}

/** What the export reads of each collection: everything but a VSA's raw bytes. */
const EXPORT_PROJECTION: Record<ExportedCollection, Record<string, 0>> = {
  decisions: {},
  attestations: {},
  vsas: { raw: 0 },
  approvals: {},
  events: {},
  policies: {},
  exceptions: {},
};
const VsaWithoutRawSchema = VsaDocSchema.omit({ raw: true });

/** A stored document as the export reads it, validated by its codec (ARCHIVE_ERROR when it does not fit). */
function exportRecord(collection: ExportedCollection, doc: unknown): unknown {
  if (collection !== 'vsas') return toRecord(collection, doc);
  const result = z.safeEncode(VsaWithoutRawSchema, doc as never);
  if (!result.success) {
    const id = (doc as { _id?: unknown })._id;
    throw new GateError('ARCHIVE_ERROR', `stored vsas document ${String(id)} does not match its schema`, {
      detail: { collection, id },
    });
  }
  return result.data;
}

/** Runs `work` over `items`, at most `limit` at once. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** The values of several async iterables as each produces them (reads run concurrently). */
async function* mergeAsync<T>(sources: Array<AsyncIterable<T>>): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; result: IteratorResult<T> }>>();
  const pull = (i: number) =>
    pending.set(
      i,
      iterators[i]!.next().then((result) => ({ i, result })),
    );
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield result.value;
    }
  } finally {
    await Promise.allSettled([...pending.keys()].map((i) => iterators[i]!.return?.()));
  }
}

/**
 * The typed collections behind an archive: for the archive's own query modules and for tests
 * that inspect or alter stored documents. Lint keeps the rest of src/ out (eslint.config.js).
 */
export function collectionsOf(archive: Archive): Collections {
  return handlesOf(archive).collections;
}

/** The database behind an archive: for tests that drop or list it. Lint keeps the rest of src/ out. */
export function databaseOf(archive: Archive): Db {
  return handlesOf(archive).db;
}

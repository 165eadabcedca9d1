/**
 * The archive's write side, called by the publish workflow's activities. Every function
 * takes and returns plain JSON, validates with zod on write and on read, and is idempotent:
 * a retry after a crash finds its own earlier write (E11000 on the deterministic `_id`) and
 * succeeds, while a *different* record under the same key is refused with ARCHIVE_ERROR.
 *
 * Errors: GateError INPUT_INVALID (bad payload) and ARCHIVE_ERROR (conflict, illegal
 * transition, unknown decision, stored document that fails its schema) will fail again;
 * driver errors (store down, stepdown, timeout) are rethrown as they are so that
 * the activity retries them (CHECKLIST rows 29, 33).
 */
import {
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Db,
  type MongoClientOptions,
} from 'mongodb';
import { z } from 'zod';
import { GateError } from '../core/errors.ts';
import { ApprovalInputSchema, type ApprovalInput, type ApprovalRecord } from './approval-record.ts';
import {
  AttestationInputSchema,
  type AttestationInput,
  type AttestationRecord,
} from './attestation-record.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import { NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';
import {
  collectionsIn,
  ensureIndexes,
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
import { VsaInputSchema, type VsaInput, type VsaRecord } from './vsa-record.ts';

// The JSON input schemas, for activities that validate payloads before calling in.
export {
  ApprovalInputSchema,
  AttestationInputSchema,
  DecisionInputSchema,
  PublishedInputSchema,
  VsaInputSchema,
};
export type { ApprovalInput, AttestationInput, DecisionInput, DecisionRecord, PublishedInput, VsaInput };
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
    /** Transport settings from the worker configuration (CA file for TLS). */
    tls?: Pick<MongoClientOptions, 'tls' | 'tlsCAFile'>;
  } = {},
): Promise<Archive> {
  const client = new MongoClient(uri, {
    ...options.tls,
    ignoreUndefined: true,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 10_000,
    // CHECKLIST row 33: nothing is published on a decision a stepdown could roll back.
    writeConcern: { w: 'majority' },
    readConcernLevel: 'majority',
  });
  try {
    await client.connect();
  } catch (err) {
    await client.close();
    throw err;
  }
  const db = client.db(dbName);
  // Read-only callers (auditors) may lack the right to create indexes.
  if (options.createIndexes === false) return new Archive(client, db);
  const key = `${uri}\u0000${dbName}`;
  let ready = indexesReady.get(key);
  if (!ready) {
    ready = ensureIndexes(db);
    indexesReady.set(key, ready);
    ready.catch(() => indexesReady.delete(key));
  }
  try {
    await ready;
  } catch (err) {
    await client.close();
    throw err;
  }
  return new Archive(client, db);
}

let handlesOf: (archive: Archive) => { db: Db; collections: Collections };

/** The store cannot be reached (down, failing over, connection closed): worth retrying. */
export function isArchiveUnavailable(err: unknown): boolean {
  return (
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError
  );
}

/**
 * Handle on one archive database. Callers see named queries and writes only; the MongoDB
 * handles stay inside src/archive (collectionsOf), so every read of the audit record is a
 * query with a name, a schema check on what it returns, and one place to index for it.
 */
export class Archive {
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #collections: Collections;

  static {
    handlesOf = (archive) => ({ db: archive.#db, collections: archive.#collections });
  }

  constructor(client: MongoClient, db: Db) {
    this.#client = client;
    this.#db = db;
    this.#collections = collectionsIn(db);
  }

  /** The name of the archive database (part of an attestor's trust digest). */
  get databaseName(): string {
    return this.#db.databaseName;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#client.close();
  }

  /** Stores the decision of one publish attempt with its exceptions; safe to retry. */
  async recordDecision(input: DecisionInput): Promise<{ decisionId: string }> {
    const { parsed, record } = buildDecisionRecord(input);
    await this.insertOnce('decisions', record, (stored) => {
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
    return { decisionId: parsed.decisionId };
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
    return { digests };
  }

  /** Stores the text of a policy version under the digest the policy layer computed for it. */
  async storePolicy(digest: string, text: string): Promise<{ digest: string }> {
    parseInput(Sha256DigestSchema, digest, 'policy digest');
    const textDigest = sha256Digest(text);
    await this.insertOnce(
      'policies',
      {
        _id: `${digest}|${textDigest}`,
        schemaVersion: SCHEMA_VERSION,
        digest,
        textDigest,
        text,
        firstStoredAt: new Date().toISOString(),
      },
      undefined,
      ['firstStoredAt'],
    );
    return { digest };
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
    await this.insertOnce('vsas', {
      _id: `${parsed.decisionId}|${parsed.direction}|${digest}`,
      schemaVersion: SCHEMA_VERSION,
      digest,
      ...parsed,
      raw: raw.toString('base64'),
      at: new Date(parsed.at).toISOString(),
    });
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
  ): Promise<{ status: DecisionStatus }> {
    const fromStatus = parseInput(DecisionStatusSchema, from, 'from');
    const toStatus = parseInput(DecisionStatusSchema, to, 'to');
    if (by !== undefined) parseInput(NameSchema, by, 'by');
    if (toStatus === 'published') {
      throw new GateError('ARCHIVE_ERROR', `decision ${decisionId}: use markPublished to publish`, {
        detail: { decisionId },
      });
    }
    await this.move(decisionId, fromStatus, toStatus, { by, data });
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
      const stored = await this.#collections.approvals.findOne({ _id: record._id });
      if (!stored || canonicalJson(toRecord('approvals', stored)) !== canonicalJson(record)) {
        throw new GateError(
          'ARCHIVE_ERROR',
          `decision ${decisionId} is ${decision.status}, not awaiting approval`,
          {
            detail: { decisionId, status: decision.status },
          },
        );
      }
      return { approvalId: record._id };
    }
    await this.insertOnce('approvals', record);
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
      return { status: 'published' };
    }
    const { at, ...where } = parsed;
    await this.move(decisionId, decision.status, 'published', {
      data: target,
      set: { published: { ...where, at: new Date(at) } },
      statusAt: new Date(at),
    });
    return { status: 'published' };
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
    options: { by?: string; data?: unknown; set?: Record<string, unknown>; statusAt?: Date },
  ): Promise<void> {
    const decision = await this.requireDecision(decisionId);
    const eventId = `${decisionId}|from:${from}`;
    const retried = decision.status === to && (await this.#collections.events.findOne({ _id: eventId, to }));
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
    const now = new Date().toISOString();
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
    const result = await this.#collections.decisions.updateOne(
      { _id: decisionId, status: from },
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
   * The newest published decision for `repository:tag` (CHECKLIST rows 21, 22: the monotonic
   * record a rollback is judged against), or undefined.
   */
  async latestPublished(repository: string, tag: string): Promise<DecisionRecord | undefined> {
    const [last] = await this.#collections.decisions
      .find({ status: 'published', 'published.repository': repository, 'published.tag': tag })
      .sort({ decidedAt: -1 })
      .limit(1)
      .toArray();
    return last && toRecord('decisions', last);
  }

  /**
   * Archived attestations by content digest; digests not in the archive are absent from the
   * map. A stored document that fails its schema is ARCHIVE_ERROR naming it (`detail.id`).
   */
  async attestationsByDigest(digests: readonly string[]): Promise<Map<string, AttestationRecord>> {
    const docs = await this.#collections.attestations.find({ _id: { $in: [...digests] } }).toArray();
    return new Map(docs.map((doc) => [String(doc._id), toRecord('attestations', doc)]));
  }

  /**
   * The VSAs slsa-gate issued for an artifact digest, newest first, at most `limit`. Documents
   * that fail their schema come back as coded errors, so one damaged record hides no other.
   */
  async issuedVsas(
    subjectDigest: string,
    options: { limit: number; signal?: AbortSignal | undefined },
  ): Promise<{ records: VsaRecord[]; invalid: GateError[] }> {
    const docs = await this.#collections.vsas
      .find({ subjectDigest, direction: 'issued' }, { ...(options.signal ? { signal: options.signal } : {}) })
      .sort({ at: -1 })
      .limit(options.limit)
      .toArray();
    const records: VsaRecord[] = [];
    const invalid: GateError[] = [];
    for (const doc of docs) {
      try {
        records.push(toRecord('vsas', doc));
      } catch (err) {
        if (!(err instanceof GateError)) throw err;
        invalid.push(err);
      }
    }
    return { records, invalid };
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
    const approvals = await this.listApprovals(decisionId);
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

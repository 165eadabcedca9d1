/**
 * The archived signed bytes `audit reverify` checks again (src/audit/reverify.ts), streamed
 * in scan order with the driver's batches: attestations a passing check relied on, and VSAs
 * slsa-gate issued.
 */
import { isGateError, type ErrorCode } from '../core/errors.ts';
import { collectionsOf, type Archive } from './archive.ts';
import type { AttestationRecord } from './attestation-record.ts';
import { SCAN_LIMIT, toRecord } from './collections.ts';
import { SCAN_BATCH_SIZE } from './integrity.ts';

/** One archived signed document: its raw bytes, or the code of why it could not be read. */
export type SignedRecord = { collection: 'attestations' | 'vsas'; id: string } & (
  | {
      raw: Uint8Array;
      /** Who verified as the signer when it was archived: `key <id>`, else the certificate identity. */
      archivedSigner?: string;
    }
  | { unreadable: ErrorCode }
);

/**
 * The attestations in `reliedOn`, in scan order: looked up by id with `byId` (one decision's
 * evidence), else found by a scan of the whole collection.
 */
export async function* reliedOnSignedRecords(
  archive: Archive,
  reliedOn: ReadonlySet<string>,
  byId: boolean,
): AsyncGenerator<SignedRecord> {
  const query = byId ? { _id: { $in: [...reliedOn] } } : {};
  for await (const doc of collectionsOf(archive).attestations.find(query, scanOptions()))
    if (reliedOn.has(doc._id)) yield signedRecord('attestations', doc);
}

/** The VSAs slsa-gate issued, for every decision or for `decisionId`, in scan order. */
export async function* issuedVsaSignedRecords(
  archive: Archive,
  decisionId?: string,
): AsyncGenerator<SignedRecord> {
  const query = { direction: 'issued' as const, ...(decisionId === undefined ? {} : { decisionId }) };
  for await (const doc of collectionsOf(archive).vsas.find(query, scanOptions()))
    yield signedRecord('vsas', doc);
}

function scanOptions() {
  return { ...SCAN_LIMIT, batchSize: SCAN_BATCH_SIZE };
}

function signedRecord(collection: 'attestations' | 'vsas', doc: { _id: unknown }): SignedRecord {
  const id = String(doc._id);
  try {
    const record = toRecord(collection, doc);
    const raw = Buffer.from(record.raw, 'base64');
    if (collection === 'vsas') return { collection, id, raw };
    const { signerKeyId, signerIdentity } = record as AttestationRecord;
    const archivedSigner = signerKeyId === undefined ? signerIdentity : `key ${signerKeyId}`;
    return { collection, id, raw, ...(archivedSigner === undefined ? {} : { archivedSigner }) };
  } catch (err) {
    // A document that does not fit its schema: `audit verify` names it as tampered.
    if (!isGateError(err)) throw err;
    return { collection, id, unreadable: err.code };
  }
}

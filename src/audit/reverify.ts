/**
 * `audit reverify`: archived evidence re-verified under TODAY's trust material. Each
 * attestation a passing check relied on, and each VSA slsa-gate issued (when the gate's VSA
 * key is given), is checked again; one that no longer verifies is a finding about today's
 * trust (a rotated or removed key, an expired or replaced root, a revoked identity), never
 * tampering: whether the archive still holds what was decided is `audit verify`
 * (src/archive/integrity.ts), which reads no trust material at all
 * (docs/audit.md#integrity-and-re-verification). Attestations that no passing check relied on
 * (the rejected ones kept as evidence of a denial) are not expected to verify and are skipped.
 *
 * Signatures run on the verification pool (src/audit/verify-pool.ts); `inOrder` keeps the
 * report the serial one, in scan order, whatever the number of threads.
 */
import type { Archive } from '../archive/archive.ts';
import {
  issuedVsaSignedRecords,
  reliedOnSignedRecords,
  type SignedRecord,
} from '../archive/signed-records.ts';
import type { ErrorCode } from '../core/errors.ts';
import { inOrder, type VerifyPool } from './verify-pool.ts';

/** An archived signature that does not verify under today's trust material. */
export interface ReverifyFinding {
  collection: 'attestations' | 'vsas';
  id: string;
  /** The verifier's code (KEY_UNKNOWN for a key id today's trust lacks, SIGNATURE_ERROR, CERT_…). */
  code?: ErrorCode;
  message: string;
  /** The key ids the archived signatures name (signer-chosen hints; often none). */
  keyIds: string[];
  /**
   * Who verified as the signer when it was archived: the configured key id, else the
   * certificate identity. The key or identity a rotation or revocation retired.
   */
  archivedSigner?: string;
}

/** What `reverifyArchive` re-verified and what differs under today's trust. */
export interface ReverifyReport {
  checked: Record<'attestations' | 'vsas', number>;
  findings: ReverifyFinding[];
}

/**
 * Re-verifies, on `pool`, the attestations in `reliedOn` (those a passing check rests on, in
 * the whole archive or in the decision `ref`) and, with `checkVsas`, the VSAs issued for it.
 */
export async function reverifyArchive(
  archive: Archive,
  opts: {
    pool: VerifyPool<'archived-signature'>;
    reliedOn: ReadonlySet<string>;
    checkVsas: boolean;
    /** A decision id: only its evidence and its issued VSAs. */
    ref?: string;
  },
): Promise<ReverifyReport> {
  const checked = { attestations: 0, vsas: 0 };
  const findings: ReverifyFinding[] = [];
  const run = async (record: SignedRecord): Promise<ReverifyFinding | undefined> => {
    const { collection, id } = record;
    checked[collection]++;
    if ('unreadable' in record)
      return { collection, id, code: record.unreadable, message: 'does not match its schema', keyIds: [] };
    const found = await opts.pool.run({ collection, id, raw: record.raw });
    if (found === undefined) return undefined;
    const { archivedSigner } = record;
    return { collection, id, ...found, ...(archivedSigner === undefined ? {} : { archivedSigner }) };
  };
  const sources = [
    reliedOnSignedRecords(archive, opts.reliedOn, opts.ref !== undefined),
    ...(opts.checkVsas ? [issuedVsaSignedRecords(archive, opts.ref)] : []),
  ];
  for (const records of sources)
    for await (const finding of inOrder(records, run, opts.pool.window)) if (finding) findings.push(finding);
  return { checked, findings };
}

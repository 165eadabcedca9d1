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
import { collectionsOf, type Archive } from '../archive/archive.ts';
import { SCAN_LIMIT, toRecord } from '../archive/collections.ts';
import { SCAN_BATCH_SIZE } from '../archive/integrity.ts';
import { isGateError, type ErrorCode } from '../core/errors.ts';
import { inOrder, type VerifyPool } from './verify-pool.ts';

/** An archived signature that does not verify under today's trust material. */
export interface ReverifyFinding {
  collection: 'attestations' | 'vsas';
  id: string;
  /** The verifier's code (KEY_UNKNOWN for a key id today's trust lacks, SIGNATURE_ERROR, CERT_…). */
  code?: ErrorCode;
  message: string;
  /** The key ids the archived signatures name: the key a rotation replaced. */
  keyIds: string[];
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
  const collections = collectionsOf(archive);
  const checked = { attestations: 0, vsas: 0 };
  const findings: ReverifyFinding[] = [];
  const scan = { ...SCAN_LIMIT, batchSize: SCAN_BATCH_SIZE };
  const run = async <N extends ReverifyFinding['collection']>(
    collection: N,
    doc: { _id: unknown },
  ): Promise<ReverifyFinding | undefined> => {
    checked[collection]++;
    const id = String(doc._id);
    let raw: Uint8Array;
    try {
      raw = Buffer.from(toRecord(collection, doc).raw, 'base64');
    } catch (err) {
      // Not this report's question, but nothing to re-verify either: `audit verify` names it.
      if (!isGateError(err)) throw err;
      return { collection, id, code: err.code, message: 'does not match its schema', keyIds: [] };
    }
    const found = await opts.pool.run({ collection, id, raw });
    return found === undefined ? undefined : { collection, id, ...found };
  };

  const attestationQuery = opts.ref === undefined ? {} : { _id: { $in: [...opts.reliedOn] } };
  const attestations = async function* () {
    for await (const doc of collections.attestations.find(attestationQuery, scan))
      if (opts.reliedOn.has(doc._id)) yield doc;
  };
  for await (const finding of inOrder(attestations(), (doc) => run('attestations', doc), opts.pool.window))
    if (finding) findings.push(finding);

  if (opts.checkVsas) {
    const vsaQuery = { direction: 'issued' as const, ...(opts.ref === undefined ? {} : { decisionId: opts.ref }) };
    for await (const finding of inOrder(
      collections.vsas.find(vsaQuery, scan),
      (doc) => run('vsas', doc),
      opts.pool.window,
    ))
      if (finding) findings.push(finding);
  }
  return { checked, findings };
}

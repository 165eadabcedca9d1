/**
 * slsa-gate as its own attestor: a dependency published earlier through the control point
 * has the VSA slsa-gate issued for it in the archive's `vsas` collection. The stored bytes
 * are checked again like any other VSA, against slsa-gate's configured VSA public key and
 * the levels it is trusted for; the archive is a store, not a source of trust.
 */
import type { Archive } from '../archive/archive.ts';
import { describeRevocation } from '../archive/revocation-record.ts';
import {
  attestorUnavailable,
  type Attestor,
  type AttestorAnswer,
  type LookupContext,
  type Resource,
  reasonOf,
} from './attestor.ts';
import { answerOf, attestorTrustDigest, createVsaTrust, evaluateVsas, type VsaTrust } from './vsa-trust.ts';

/** At most this many issued VSAs are read per subject (re-publishes of the same digest). */
const MAX_VSAS_PER_SUBJECT = 100;

/** Trust in slsa-gate's own VSAs: its verifier id and VSA key, up to `maxBuildLevel` (default 3). */
export function selfVsaTrust(opts: {
  verifierId: string;
  keyId: string;
  publicKeyPem: string;
  maxBuildLevel?: number;
}): VsaTrust {
  return createVsaTrust({
    verifiers: [{ id: opts.verifierId, tracks: { BUILD: opts.maxBuildLevel ?? 3 } }],
    // The gate's VSA key speaks for the gate's verifier id only.
    signers: [{ keyId: opts.keyId, publicKey: opts.publicKeyPem, verifierIds: [opts.verifierId] }],
  });
}

/** An attestor over the VSAs slsa-gate issued, read from its archive. */
export function createArchiveAttestor(opts: { name?: string; archive: Archive; trust: VsaTrust }): Attestor {
  const name = opts.name ?? 'archive';
  const { archive, trust } = opts;

  async function lookup(resource: Resource, ctx: LookupContext = {}): Promise<AttestorAnswer> {
    const hex = resource.kind === 'git' ? undefined : resource.digest?.sha256;
    if (hex === undefined)
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `slsa-gate issues VSAs for sha256-named artifacts only`)],
      };
    const subjectDigest = `sha256:${hex.toLowerCase()}`;
    let found;
    let revocation;
    try {
      // A revoked digest vouches for nothing, whatever it was verified at before
      // (docs/security-model.md#revocation).
      revocation = await archive.revocationOf(subjectDigest);
      found = await archive.issuedVsas(subjectDigest, MAX_VSAS_PER_SUBJECT, {
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      // The store down, a stepdown, a timeout: ask again later.
      throw attestorUnavailable(
        name,
        `reading vsas for ${subjectDigest}: ${(err as Error).message}`,
        true,
        {},
        err,
      );
    }
    if (revocation)
      return {
        status: 'not-found',
        reasons: [reasonOf('REVOKED', name, describeRevocation(revocation))],
      };
    const evidence = [];
    const reasons = found.unreadable.map((err) => reasonOf(err.code, name, err.message));
    for (const record of found.vsas) {
      const one = evaluateVsas(
        Buffer.from(record.raw, 'base64'),
        `archive:vsas/${record._id}`,
        resource,
        trust,
      );
      evidence.push(...one.evidence);
      reasons.push(...one.reasons);
    }
    return answerOf(
      { evidence, reasons },
      'archive',
      reasonOf(
        'NO_ATTESTATION',
        name,
        `${found.vsas.length + found.unreadable.length} issued VSAs for ${subjectDigest}, none proves a level`,
      ),
    );
  }

  const trustDigest = attestorTrustDigest(trust, archive.databaseName);
  return { name, trustDigest, uncached: true, lookup };
}

/**
 * Offline re-verification of archived signatures for `audit verify`: each attestation a
 * passing check relied on, and each VSA slsa-gate issued, must still verify against the
 * configured trust material. Attestations that no passing check relied on (for instance
 * the rejected ones kept as evidence of a denial) are not expected to verify.
 */
import type { SignatureCheck } from '../archive/integrity.ts';
import { isGateError, type ErrorCode } from '../core/errors.ts';
import type { ArtifactRef } from '../core/model.ts';
import { buildTrustMaterial, type TrustSources } from '../core/trust/trust-material.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { keyOnlyEnvelope, verifyAttestation } from '../core/verify/verify-attestations.ts';
import type { VerifyPool } from './verify-pool.ts';

/** The artifact the statement inside an envelope names first: a signature is checked, not re-bound. */
function subjectArtifact(input: AttestationInput): ArtifactRef | undefined {
  const json = input.json as { dsseEnvelope?: { payload?: string }; payload?: string };
  const payload = json.dsseEnvelope?.payload ?? json.payload;
  if (typeof payload !== 'string') return undefined;
  try {
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as {
      subject?: Array<{ digest?: Record<string, string> }>;
    };
    const sha256 = statement.subject?.find((s) => typeof s.digest?.sha256 === 'string')?.digest?.sha256;
    const sha512 = statement.subject?.find((s) => typeof s.digest?.sha512 === 'string')?.digest?.sha512;
    if (sha256 !== undefined) return { digests: { sha256 } };
    if (sha512 !== undefined) return { digests: { sha256: '', sha512 } };
    return undefined;
  } catch {
    return undefined;
  }
}

/** The trust bytes a re-verification runs against: attestations with `trust`, issued VSAs with `vsaTrust` when given. */
export interface ArchivedSignatureSetup {
  trust: TrustSources;
  vsaTrust?: TrustSources;
}

/** One archived document whose signature is re-verified. */
export interface ArchivedSignatureItem {
  collection: 'attestations' | 'vsas';
  id: string;
  raw: Uint8Array;
}

/** Why an archived signature does not verify. */
export interface SignatureProblem {
  code?: ErrorCode;
  message: string;
}

/** Re-verifies one archived document (the verification pool's handler); undefined when it verifies. */
export function archivedSignatureVerifier(
  setup: ArchivedSignatureSetup,
): (item: ArchivedSignatureItem) => SignatureProblem | undefined {
  const trusts = {
    attestations: buildTrustMaterial(setup.trust),
    vsas: setup.vsaTrust === undefined ? undefined : buildTrustMaterial(setup.vsaTrust),
  };
  return ({ collection, id, raw }) => {
    const trust = trusts[collection];
    if (trust === undefined) return undefined;
    try {
      for (const loaded of loadAttestations(raw, `${collection}/${id}`)) {
        const input = keyOnlyEnvelope(loaded);
        const artifact = subjectArtifact(input);
        verifyAttestation(input, {
          trust,
          allowV01WithoutInclusionProof: true,
          ...(artifact === undefined
            ? { artifact: { digests: { sha256: '' } }, signatureOnly: true }
            : { artifact }),
        });
      }
      return undefined;
    } catch (err) {
      const message = `signature does not verify: ${err instanceof Error ? err.message : String(err)}`;
      return isGateError(err) ? { code: err.code, message } : { message };
    }
  };
}

/**
 * A signature check for verifyIntegrity, run on `pool`: attestations a passing check relied
 * on, and issued VSAs when the pool was set up with VSA trust.
 */
export function archivedSignatureCheck(opts: {
  pool: VerifyPool<'archived-signature'>;
  reliedOn: ReadonlySet<string>;
  checkVsas: boolean;
}): SignatureCheck {
  return async (item) => {
    if (item.collection === 'vsas' ? !opts.checkVsas : !opts.reliedOn.has(item.id)) return undefined;
    return opts.pool.run(item);
  };
}

/**
 * Offline re-verification of archived signatures for `audit verify`: each attestation a
 * passing check relied on, and each VSA slsa-gate issued, must still verify against the
 * configured trust material. Attestations that no passing check relied on (for instance
 * the rejected ones kept as evidence of a denial) are not expected to verify.
 */
import type { SignatureCheck } from '../archive/integrity.ts';
import { isGateError } from '../core/errors.ts';
import type { ArtifactRef } from '../core/model.ts';
import type { TrustMaterial } from '../core/trust/trust-material.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { keyOnlyEnvelope, verifyAttestation } from '../core/verify/verify-attestations.ts';

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

/** A signature check for verifyIntegrity: attestations with `trust`, issued VSAs with `vsaTrust` when given. */
export function archivedSignatureCheck(opts: {
  trust: TrustMaterial;
  vsaTrust?: TrustMaterial;
  reliedOn: ReadonlySet<string>;
}): SignatureCheck {
  return async ({ collection, id, raw }) => {
    const trust = collection === 'vsas' ? opts.vsaTrust : opts.trust;
    if (trust === undefined) return undefined;
    if (collection === 'attestations' && !opts.reliedOn.has(id)) return undefined;
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

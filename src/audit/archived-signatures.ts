/**
 * Offline re-verification of one archived signature for `audit reverify`: does an attestation
 * (or a VSA slsa-gate issued) verify against today's trust material? A "no" is a finding about
 * today's trust (a rotated key, an expired root), not tampering: integrity is `audit verify`.
 */
import { isGateError, type ErrorCode } from '../core/errors.ts';
import type { ArtifactRef } from '../core/model.ts';
import { buildTrustMaterial, type TrustSources } from '../core/trust/trust-material.ts';
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

/** Why an archived signature does not verify under today's trust, and the keys it names. */
export interface SignatureProblem {
  code?: ErrorCode;
  message: string;
  /** The key ids the archived signatures name (DSSE `keyid`, a bundle's public-key hint); empty when none. */
  keyIds: string[];
}

/** The key ids an attestation's signatures name: what a rotated key is recognised by. */
function namedKeyIds(input: AttestationInput): string[] {
  const json = input.json as {
    signatures?: Array<{ keyid?: unknown }>;
    dsseEnvelope?: { signatures?: Array<{ keyid?: unknown }> };
    verificationMaterial?: { publicKey?: { hint?: unknown } };
  };
  const ids = [
    ...(json.signatures ?? json.dsseEnvelope?.signatures ?? []).map((s) => s.keyid),
    json.verificationMaterial?.publicKey?.hint,
  ];
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && id !== ''))];
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
    const keyIds: string[] = [];
    try {
      for (const loaded of loadAttestations(raw, `${collection}/${id}`)) {
        keyIds.push(...namedKeyIds(loaded));
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
      return isGateError(err) ? { code: err.code, message, keyIds } : { message, keyIds };
    }
  };
}

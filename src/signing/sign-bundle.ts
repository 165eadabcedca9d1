import { INTOTO_PAYLOAD_TYPE } from '../core/formats/intoto/statement-v1.ts';
import { BUNDLE_V03_MEDIA_TYPE } from '../core/formats/sigstore/bundle-v1.ts';
import { pae } from '../core/verify/dsse-pae.ts';
import type { AttestationSigner } from './signing-key.ts';

/**
 * Signs an in-toto statement as a DSSE envelope inside a Sigstore bundle v0.3 whose
 * verification material is a public-key hint (no Fulcio certificate, no log entry).
 *
 * The DSSE signature's keyid is empty. The keyid is not signed (DSSE protocol.md: it is
 * outside the PAE), so it can only select keys, never authenticate; and verifiers built on
 * go-securesystemslib (cosign, sigstore-go, slsa-verifier) skip a signature whose keyid is
 * set and differs from the id they compute for the key (dsse/verify.go), while every one of
 * them, and `slsa-gate verify`, tries an empty keyid with the configured key.
 */
export async function signStatementBundle(statement: unknown, signer: AttestationSigner) {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = await signer.sign(pae(INTOTO_PAYLOAD_TYPE, payload));
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: signer.keyId },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: INTOTO_PAYLOAD_TYPE,
      signatures: [{ sig: Buffer.from(sig).toString('base64'), keyid: '' }],
    },
  };
}

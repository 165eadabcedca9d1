import type { AttestationSigner } from './signing-key.ts';

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** DSSE v1 pre-authentication encoding (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md). */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

/**
 * Signs an in-toto statement as a DSSE envelope inside a Sigstore bundle v0.3 whose
 * verification material is a public-key hint (no Fulcio certificate, no log entry).
 */
export async function signStatementBundle(statement: unknown, signer: AttestationSigner) {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = await signer.sign(preAuthEncoding(INTOTO_PAYLOAD_TYPE, payload));
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
      signatures: [{ sig: Buffer.from(sig).toString('base64'), keyid: signer.keyId }],
    },
  };
}

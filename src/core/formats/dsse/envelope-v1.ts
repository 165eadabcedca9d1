/**
 * The DSSE JSON envelope (secure-systems-lab/dsse envelope.md). Upstream format:
 * unknown fields are ignored. `cert` is the non-standard field older
 * slsa-github-generator releases used to embed the Fulcio certificate.
 */
import * as z from 'zod';

/** The media type of a DSSE JSON envelope as an OCI layer or referrer artifact (DSSE envelope.md, cosign). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

export const DsseSignatureSchema = z.looseObject({
  sig: z.string(),
  /** Unauthenticated hint naming the key (DSSE protocol.md): only narrows which keys are tried. */
  keyid: z.string().optional(),
  cert: z.string().optional(),
});
export type DsseSignature = z.infer<typeof DsseSignatureSchema>;

/** A DSSE envelope: base64 payload, its type, and one or more signatures over the PAE. */
export const DsseEnvelopeSchema = z.looseObject({
  payload: z.string(),
  payloadType: z.string(),
  signatures: z.array(DsseSignatureSchema),
});
export type DsseEnvelope = z.infer<typeof DsseEnvelopeSchema>;

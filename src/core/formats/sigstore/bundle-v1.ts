import * as z from 'zod';
import { DsseEnvelopeSchema } from '../dsse/envelope-v1.ts';

/** Bundle media types we accept, by the bundle version they announce (protobuf-specs `Bundle.media_type`). */
export const BUNDLE_MEDIA_TYPES = {
  'application/vnd.dev.sigstore.bundle+json;version=0.1': 'v0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2': 'v0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3': 'v0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json': 'v0.3',
} as const;
/** The media type slsa-gate signs its own bundles with (protobuf-specs v0.3 form). */
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The v0.1 media type: bundles of that version may lack an inclusion proof (bundle v0.2 made the inclusion proof mandatory; v0.1 may carry only the signed entry timestamp). */
export const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
export type BundleVersion = (typeof BUNDLE_MEDIA_TYPES)[keyof typeof BUNDLE_MEDIA_TYPES];

/** docs/checklist.md#row-25: caps checked on the parsed JSON before any verification work. */
export const MAX_TLOG_ENTRIES = 32;
export const MAX_SIGNATURES = 16;
export const MAX_TIMESTAMPS = 32;
export const MAX_CERTIFICATES = 10;

// protobuf JSON bytes: standard or URL-safe base64 (proto3 JSON mapping); `Buffer.from` would skip bad characters silently.
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'not base64');
const NonEmptyBase64 = Base64.min(1);
// proto3 JSON int64: a decimal string (or number); negative values are malformed (docs/checklist.md#row-1).
const UInt64 = z.union([
  z.string().regex(/^\d{1,20}$/, 'not a non-negative integer'),
  z.number().int().nonnegative(),
]);

// Seconds since the Unix epoch. Past 9999-12-31T23:59:59Z no RFC 3339 time (and no JS Date)
// represents it: such a value is malformed, not a time to compare against.
const MAX_UNIX_SECONDS = 253402300799;
const UnixSeconds = UInt64.refine((v) => Number(v) <= MAX_UNIX_SECONDS, {
  message: `integratedTime out of range (after ${new Date(MAX_UNIX_SECONDS * 1000).toISOString()})`,
});

const TlogEntrySchema = z.looseObject({
  logIndex: UInt64,
  logId: z.looseObject({ keyId: NonEmptyBase64 }),
  kindVersion: z.looseObject({ kind: z.string().min(1), version: z.string().min(1) }),
  integratedTime: UnixSeconds.optional(),
  inclusionPromise: z.looseObject({ signedEntryTimestamp: NonEmptyBase64 }).optional(),
  inclusionProof: z
    .looseObject({
      logIndex: UInt64,
      rootHash: NonEmptyBase64,
      treeSize: UInt64,
      hashes: z.array(Base64),
      checkpoint: z.looseObject({ envelope: z.string().min(1) }),
    })
    .optional(),
  canonicalizedBody: NonEmptyBase64,
});

const CertificateSchema = z.looseObject({ rawBytes: NonEmptyBase64 });

const VerificationMaterialSchema = z.looseObject({
  publicKey: z.looseObject({ hint: z.string() }).optional(),
  x509CertificateChain: z
    .looseObject({ certificates: z.array(CertificateSchema).min(1, 'empty certificate chain') })
    .optional(),
  certificate: CertificateSchema.optional(),
  tlogEntries: z.array(TlogEntrySchema).optional(),
  timestampVerificationData: z
    .looseObject({
      rfc3161Timestamps: z.array(z.looseObject({ signedTimestamp: NonEmptyBase64 })).optional(),
    })
    .optional(),
});

/** The DSSE envelope schema, narrowed to what a bundle allows. */
const BundleDsseEnvelopeSchema = DsseEnvelopeSchema.extend({
  payload: NonEmptyBase64,
  // A bundle's DSSE envelope carries exactly one signature (protobuf-specs Bundle comment; docs/checklist.md#row-3).
  signatures: z
    .array(z.looseObject({ sig: NonEmptyBase64, keyid: z.string().optional() }))
    .length(1, 'exactly one signature required'),
});

const MessageSignatureSchema = z.looseObject({
  messageDigest: z.looseObject({ algorithm: z.string(), digest: NonEmptyBase64 }),
  signature: NonEmptyBase64,
});

/** A Sigstore bundle v0.1–v0.3 as JSON (protobuf-specs `dev.sigstore.bundle.v1.Bundle`), loose for unknown fields. */
export const SigstoreBundleSchema = z.looseObject({
  mediaType: z.string(),
  verificationMaterial: VerificationMaterialSchema,
  dsseEnvelope: BundleDsseEnvelopeSchema.optional(),
  messageSignature: MessageSignatureSchema.optional(),
});
export type SigstoreBundleJson = z.infer<typeof SigstoreBundleSchema>;

/** Whether a parsed JSON value looks like a Sigstore bundle (used to detect the input form). */
export function looksLikeBundle(json: unknown): boolean {
  return (
    typeof json === 'object' &&
    json !== null &&
    !Array.isArray(json) &&
    typeof (json as Record<string, unknown>).mediaType === 'string' &&
    (json as Record<string, unknown>).verificationMaterial !== undefined
  );
}

/**
 * An OCI image layout (image-spec image-layout.md) holding cosign attestations, as
 * written by `cosign save`: `index.json`, content-addressed blobs, and an attestation
 * manifest whose layers are DSSE envelopes annotated with their Rekor evidence
 * (sigstore/cosign pkg/oci/static, pkg/cosign/bundle). Upstream formats: loose.
 */
import * as z from 'zod';
import { DSSE_ENVELOPE_MEDIA_TYPE } from '../dsse/envelope-v1.ts';

const Sha256Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'not a sha256 digest');

/** image-spec descriptor.md; the digest is checked here so it can name a blob file safely. */
export const OciDescriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: Sha256Digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type OciDescriptor = z.infer<typeof OciDescriptorSchema>;

/** image-spec image-index.md, as `index.json` of a layout. */
export const OciIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  manifests: z.array(OciDescriptorSchema),
});

/** image-spec manifest.md: the attestation manifest's layers are the DSSE envelopes. */
export const OciManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  layers: z.array(OciDescriptorSchema),
});

/** Annotation keys cosign puts on index entries and attestation layers. */
export const COSIGN_LAYOUT = {
  /** index.json entry annotation naming what the entry is. */
  kind: 'kind',
  attestationsKind: 'dev.cosignproject.cosign/atts',
  /** image-spec annotations.md: the tag of an index entry, e.g. `sha256-<hex>.att`. */
  refName: 'org.opencontainers.image.ref.name',
  dsseLayer: DSSE_ENVELOPE_MEDIA_TYPE,
  bundle: 'dev.sigstore.cosign/bundle',
  certificate: 'dev.sigstore.cosign/certificate',
} as const;

/**
 * `dev.sigstore.cosign/bundle`: Rekor's signed entry timestamp and the payload it
 * signs (cosign pkg/cosign/bundle RekorBundle).
 */
export const CosignRekorBundleSchema = z.looseObject({
  SignedEntryTimestamp: z.string().min(1),
  Payload: z.looseObject({
    body: z.string().min(1),
    integratedTime: z.number().int().nonnegative(),
    logIndex: z.number().int().nonnegative(),
    logID: z.string().regex(/^[0-9a-f]{64}$/, 'not a hex log id'),
  }),
});
export type CosignRekorBundle = z.infer<typeof CosignRekorBundleSchema>;

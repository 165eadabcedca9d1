import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE } from '../core/formats/dsse/envelope-v1.ts';

/** Media types from the OCI image spec (media-types.md) and Docker Image Manifest v2 schema 2. */
export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dsseEnvelope: DSSE_ENVELOPE_MEDIA_TYPE,
} as const;

/** Manifest media types we accept: a single image manifest. */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
/** Manifest media types we accept: an index of manifests. */
export const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList];
/** Every manifest media type the client fetches or pushes. */
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

/** image-spec manifest.md §Guidance for an Empty Descriptor: the blob `{}`. */
export const EMPTY_CONFIG = {
  mediaType: MEDIA_TYPES.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  bytes: new TextEncoder().encode('{}'),
} as const;

// image-spec descriptor.md: upstream format, so unknown fields are kept (looseObject).
export const descriptorSchema = z.looseObject({
  mediaType: z.string().min(1),
  digest: z.string().min(1),
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  urls: z.array(z.string()).optional(),
  platform: z
    .looseObject({ architecture: z.string(), os: z.string(), variant: z.string().optional() })
    .optional(),
});

/** An OCI content descriptor (image-spec descriptor.md). */
export type Descriptor = z.infer<typeof descriptorSchema>;

// image-spec manifest.md; Docker schema 2 has the same shape.
export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** An OCI image manifest or Docker v2 schema 2 manifest. */
export type ImageManifest = z.infer<typeof imageManifestSchema>;

// image-spec image-index.md; the Docker manifest list has the same shape.
export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** An OCI image index or Docker manifest list. */
export type ImageIndex = z.infer<typeof imageIndexSchema>;

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new GateError('REGISTRY_ERROR', `${where}: not UTF-8 JSON`, {
      cause,
      detail: { where },
    });
  }
}

function parseWith<T>(schema: z.ZodType<T>, bytes: Uint8Array, where: string): T {
  const result = schema.safeParse(parseJson(bytes, where));
  if (!result.success) {
    throw new GateError('REGISTRY_ERROR', `${where}: ${z.prettifyError(result.error)}`, {
      detail: { where },
    });
  }
  return result.data;
}

/** Parses image manifest bytes; `where` names the source in errors. */
export function parseImageManifest(bytes: Uint8Array, where: string): ImageManifest {
  return parseWith(imageManifestSchema, bytes, where);
}

/** Parses image index bytes; `where` names the source in errors. */
export function parseImageIndex(bytes: Uint8Array, where: string): ImageIndex {
  return parseWith(imageIndexSchema, bytes, where);
}

/** Serialises a manifest as compact JSON bytes (deterministic for a given object). */
export function manifestBytes(manifest: object): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/**
 * The media type declared inside manifest bytes, if any. image-spec manifest.md:
 * `mediaType` SHOULD be set and, when set, must agree with the Content-Type.
 */
export function declaredMediaType(bytes: Uint8Array, where: string): string | undefined {
  const json = parseJson(bytes, where);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new GateError('REGISTRY_ERROR', `${where}: manifest is not a JSON object`, {
      detail: { where },
    });
  }
  const mediaType = (json as Record<string, unknown>).mediaType;
  return typeof mediaType === 'string' ? mediaType : undefined;
}

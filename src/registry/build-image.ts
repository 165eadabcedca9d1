import { sha256Digest } from './digest.ts';
import { manifestBytes, MEDIA_TYPES } from './oci-manifest.ts';
import type { RegistryClient } from './client.ts';

/**
 * Small, real OCI images built in memory for the demo and the tests: an image
 * config, one or two uncompressed tar layers, deterministic from a seed (the
 * same seed always gives the same digests), and optionally an image index of
 * two platform images.
 */

/** A blob ready to push. */
export interface BuiltBlob {
  mediaType: string;
  digest: string;
  bytes: Uint8Array;
}

/** A manifest ready to push, with the blobs and child manifests it references. */
export interface BuiltImage {
  mediaType: string;
  digest: string;
  bytes: Uint8Array;
  blobs: BuiltBlob[];
  children: BuiltImage[];
}

/** An OCI platform (image-spec image-index.md §platform). */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** Options of buildImage. */
export interface BuildImageOptions {
  seed?: string;
  /** Number of layers (default 2). */
  layers?: 1 | 2;
  platform?: Platform;
}

/** What pushBuiltImage pushed. */
export interface PushedImage {
  digest: string;
  mediaType: string;
  manifestBytes: Uint8Array;
  /** Every distinct blob digest of the image (children's included), configs first. */
  blobDigests: string[];
}

const DEFAULT_PLATFORMS: Platform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
];

function blob(mediaType: string, bytes: Uint8Array): BuiltBlob {
  return { mediaType, digest: sha256Digest(bytes), bytes };
}

/** A one-file ustar archive (POSIX pax §ustar Interchange Format) with fixed owner and time. */
export function tarWithFile(name: string, content: Uint8Array): Uint8Array {
  const header = new Uint8Array(512);
  const put = (offset: number, text: string) => header.set(new TextEncoder().encode(text), offset);
  put(0, name);
  put(100, '0000644\0');
  put(108, '0000000\0');
  put(116, '0000000\0');
  put(124, `${content.byteLength.toString(8).padStart(11, '0')}\0`);
  put(136, '00000000000\0');
  put(148, '        ');
  put(156, '0');
  put(257, 'ustar\0');
  put(263, '00');
  const checksum = header.reduce((sum, b) => sum + b, 0);
  put(148, `${checksum.toString(8).padStart(6, '0')}\0 `);
  const padded = Math.ceil(content.byteLength / 512) * 512;
  const out = new Uint8Array(512 + padded + 1024);
  out.set(header, 0);
  out.set(content, 512);
  return out;
}

/** Builds a single-platform OCI image manifest with its config and layers. */
export function buildImage(opts: BuildImageOptions = {}): BuiltImage {
  const seed = opts.seed ?? 'slsa-gate';
  const platform = opts.platform ?? DEFAULT_PLATFORMS[0]!;
  const platformName = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
  const layers = Array.from({ length: opts.layers ?? 2 }, (_, i) =>
    blob(
      MEDIA_TYPES.ociLayerTar,
      tarWithFile(
        `layer-${i}.txt`,
        new TextEncoder().encode(`seed ${seed}\nplatform ${platformName}\nlayer ${i}\n`),
      ),
    ),
  );
  const config = blob(
    MEDIA_TYPES.ociConfig,
    manifestBytes({
      created: '1970-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config: { Labels: { 'dev.slsa-gate.test.seed': seed } },
      // Uncompressed layers: the diff_id is the layer digest (image-spec config.md §rootfs).
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  return imageManifest(config, layers);
}

/** The OCI image manifest of a config blob and its layers (image-spec manifest.md). */
export function imageManifest(config: BuiltBlob, layers: BuiltBlob[]): BuiltImage {
  const bytes = manifestBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.byteLength },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.byteLength })),
  });
  return {
    mediaType: MEDIA_TYPES.ociManifest,
    digest: sha256Digest(bytes),
    bytes,
    blobs: [config, ...layers],
    children: [],
  };
}

/** Builds an OCI image index of one image per platform (linux/amd64 and linux/arm64/v8 by default). */
export function buildImageIndex(opts: { seed?: string; platforms?: Platform[] } = {}): BuiltImage {
  const children = (opts.platforms ?? DEFAULT_PLATFORMS).map((platform) =>
    buildImage({ ...(opts.seed === undefined ? {} : { seed: opts.seed }), platform }),
  );
  const platforms = opts.platforms ?? DEFAULT_PLATFORMS;
  const bytes = manifestBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: children.map((c, i) => ({
      mediaType: c.mediaType,
      digest: c.digest,
      size: c.bytes.byteLength,
      platform: platforms[i],
    })),
  });
  return { mediaType: MEDIA_TYPES.ociIndex, digest: sha256Digest(bytes), bytes, blobs: [], children };
}

/** Every distinct blob of an image, its children's included, in push order. */
export function allBlobs(image: BuiltImage): BuiltBlob[] {
  const seen = new Map<string, BuiltBlob>();
  const walk = (m: BuiltImage) => {
    for (const child of m.children) walk(child);
    for (const b of m.blobs) seen.set(b.digest, b);
  };
  walk(image);
  return [...seen.values()];
}

/** Pushes a built image: blobs, children, then the manifest by digest, then the tag if given. */
export async function pushBuiltImage(
  client: RegistryClient,
  repo: string,
  image: BuiltImage,
  opts: { tag?: string } = {},
): Promise<PushedImage> {
  const blobs = allBlobs(image);
  for (const b of blobs) await client.pushBlob(repo, b.bytes);
  const pushManifest = async (m: BuiltImage): Promise<void> => {
    for (const child of m.children) await pushManifest(child);
    await client.putManifest(repo, m.digest, m.bytes, m.mediaType);
  };
  await pushManifest(image);
  if (opts.tag !== undefined) await client.tag(repo, opts.tag, image.digest);
  return {
    digest: image.digest,
    mediaType: image.mediaType,
    manifestBytes: image.bytes,
    blobDigests: blobs.map((b) => b.digest),
  };
}

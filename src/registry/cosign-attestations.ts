import type { RegistryClient } from './client.ts';
import { sha256Digest } from './digest.ts';
import {
  IMAGE_MANIFEST_TYPES,
  manifestBytes,
  MEDIA_TYPES,
  parseImageManifest,
  type Descriptor,
} from './oci-manifest.ts';
import { referrersTag } from './referrers.ts';
import { registryError } from './registry-error.ts';

/**
 * Cosign stores attestations of an image under the tag `sha256-<hex>.att`: an
 * image manifest whose layers are DSSE envelopes, each annotated with the
 * Sigstore bundle, certificate and chain (sigstore/cosign pkg/oci/static).
 */
export const COSIGN_ANNOTATIONS = {
  bundle: 'dev.sigstore.cosign/bundle',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  signature: 'dev.cosignproject.cosign/signature',
  predicateType: 'predicateType',
} as const;

/** The cosign attestation manifest of an image and its DSSE layers (fetch each with `getAttestationLayer`). */
export interface CosignAttestations {
  tag: string;
  /** Digest of the `.att` manifest bytes as fetched. */
  manifestDigest: string;
  /** Layers with media type `application/vnd.dsse.envelope.v1+json`; other layers are not attestations and are left out. */
  layers: Descriptor[];
}

/** An attestation to store cosign-style: the DSSE envelope bytes and its annotations. */
export interface CosignAttestationInput {
  envelope: Uint8Array;
  annotations?: Record<string, string>;
}

/** The cosign attestation tag of a manifest digest: `sha256-<hex>.att`. */
export function cosignAttestationTag(digest: string): string {
  return `${referrersTag(digest)}.att`;
}

/**
 * Reads a cosign manifest (`.att`, `.sig`): an image manifest of at most `maxReferrers`
 * layers; undefined when there is no such tag.
 */
export async function readCosignManifest(
  client: RegistryClient,
  repo: string,
  tag: string,
  what: string,
): Promise<{ digest: string; layers: Descriptor[] } | undefined> {
  const where = `cosign ${what} ${repo}:${tag}`;
  const fetched = await client.getManifestByTag(repo, tag);
  if (fetched === undefined) return undefined;
  if (!IMAGE_MANIFEST_TYPES.includes(fetched.mediaType)) {
    throw registryError('REGISTRY_ERROR', `${where}: is ${fetched.mediaType}, not an image manifest`, {
      where,
    });
  }
  const manifest = parseImageManifest(fetched.bytes, where);
  if (manifest.layers.length > client.limits.maxReferrers) {
    throw registryError(
      'LIMIT_EXCEEDED',
      `${where}: ${manifest.layers.length} ${what}, over ${client.limits.maxReferrers}`,
      {
        where,
        limit: client.limits.maxReferrers,
        count: manifest.layers.length,
      },
    );
  }
  return { digest: fetched.digest, layers: manifest.layers };
}

/** Reads the `sha256-<hex>.att` manifest; undefined when the image has none. */
export async function findCosignAttestations(
  client: RegistryClient,
  repo: string,
  digest: string,
): Promise<CosignAttestations | undefined> {
  const tag = cosignAttestationTag(digest);
  const found = await readCosignManifest(client, repo, tag, 'attestations');
  if (found === undefined) return undefined;
  return {
    tag,
    manifestDigest: found.digest,
    layers: found.layers.filter((l) => l.mediaType === MEDIA_TYPES.dsseEnvelope),
  };
}

/** Writes a cosign manifest of `layers` under `tag`; returns its digest. */
export async function writeCosignManifest(
  client: RegistryClient,
  repo: string,
  tag: string,
  layers: Descriptor[],
): Promise<string> {
  // cosign's config lists the layers as the rootfs of an empty image.
  const config = manifestBytes({
    architecture: '',
    os: '',
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  });
  const configDigest = await client.pushBlob(repo, config);
  const manifest = manifestBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: config.byteLength },
    layers,
  });
  await client.putManifest(repo, tag, manifest, MEDIA_TYPES.ociManifest);
  return sha256Digest(manifest);
}

/**
 * Adds DSSE envelopes to the image's `.att` manifest as cosign does: existing
 * layers are kept and a layer already present is not added twice. Returns the
 * digest of the `.att` manifest now under the tag.
 */
export async function attachCosignAttestations(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  attestations: CosignAttestationInput[],
): Promise<string> {
  await client.resolve(repo, subjectDigest);
  const existing = await findCosignAttestations(client, repo, subjectDigest);
  const layers: Descriptor[] = [...(existing?.layers ?? [])];
  for (const att of attestations) {
    const digest = await client.pushBlob(repo, att.envelope);
    if (layers.some((l) => l.digest === digest)) continue;
    layers.push({
      mediaType: MEDIA_TYPES.dsseEnvelope,
      digest,
      size: att.envelope.byteLength,
      annotations: { [COSIGN_ANNOTATIONS.signature]: '', ...att.annotations },
    });
  }
  return writeCosignManifest(client, repo, cosignAttestationTag(subjectDigest), layers);
}

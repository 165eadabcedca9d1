/**
 * Cosign image signatures (sigstore/cosign specs/SIGNATURE_SPEC.md): a simple-signing payload
 * naming the image's manifest digest, signed over its bytes, stored as a layer of the image
 * manifest under the tag `sha256-<hex>.sig` with the base64 signature in the layer annotation
 * `dev.cosignproject.cosign/signature`. What `cosign verify --key` reads.
 */
import type { RegistryClient } from './client.ts';
import { COSIGN_ANNOTATIONS, readCosignManifest, writeCosignManifest } from './cosign-attestations.ts';
import { manifestBytes, type Descriptor } from './oci-manifest.ts';
import { referrersTag } from './referrers.ts';

/** The layer media type of a simple-signing payload (SIGNATURE_SPEC.md §Payload). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** The cosign signature tag of a manifest digest: `sha256-<hex>.sig`. */
export function cosignSignatureTag(digest: string): string {
  return `${referrersTag(digest)}.sig`;
}

/** The simple-signing payload for `digest` of the image at `dockerReference` (`host/repo`). */
export function simpleSigningPayload(dockerReference: string, digest: string): Uint8Array {
  return manifestBytes({
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': digest },
      type: 'cosign container image signature',
    },
    optional: null,
  });
}

/** One signature layer: its payload and base64 signature, fetched. */
export interface CosignSignatureLayer {
  payload: Uint8Array;
  signature: string;
}

/** The signature layers under `sha256-<hex>.sig` (empty when there is no such tag), with the manifest's layers. */
export async function findCosignSignatures(
  client: RegistryClient,
  repo: string,
  digest: string,
): Promise<{ layers: Descriptor[]; signatures: CosignSignatureLayer[] }> {
  const found = await readCosignManifest(client, repo, cosignSignatureTag(digest), 'signatures');
  const layers = found?.layers ?? [];
  const signatures: CosignSignatureLayer[] = [];
  for (const layer of layers) {
    const signature = layer.annotations?.[COSIGN_ANNOTATIONS.signature];
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || !signature) continue;
    signatures.push({ payload: await client.getBlob(repo, layer.digest, 64 * 1024), signature });
  }
  return { layers, signatures };
}

/**
 * Adds a signature layer to the image's `.sig` manifest as `cosign sign` does: layers already
 * there are kept. Returns the tag and the digest of the manifest now under it.
 */
export async function attachCosignSignature(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  existing: Descriptor[],
  signed: CosignSignatureLayer,
): Promise<{ tag: string; digest: string }> {
  const layerDigest = await client.pushBlob(repo, signed.payload);
  const layers: Descriptor[] = [
    ...existing.filter((l) => l.digest !== layerDigest),
    {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: layerDigest,
      size: signed.payload.byteLength,
      annotations: { [COSIGN_ANNOTATIONS.signature]: signed.signature },
    },
  ];
  const tag = cosignSignatureTag(subjectDigest);
  return { tag, digest: await writeCosignManifest(client, repo, tag, layers) };
}

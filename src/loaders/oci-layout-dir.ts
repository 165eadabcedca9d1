/**
 * Reads the cosign attestations of an OCI image layout directory (`cosign save`): the
 * index, the attestation manifests and their DSSE layers, each read under its cap and
 * checked against its descriptor; parsing and conversion are the core's
 * (src/core/verify/oci-layout.ts).
 */
import { join } from 'node:path';
import { GateError } from '../core/errors.ts';
import type { OciDescriptor } from '../core/formats/oci/cosign-layout-v1.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import {
  attestationLayers,
  blobCap,
  checkBlobContent,
  cosignLayerToInput,
  OCI_LAYOUT_LIMITS,
  parseOciIndex,
  selectAttestationManifests,
} from '../core/verify/oci-layout.ts';
import { readFileCapped } from './read-file-capped.ts';

/** Reads the blob a descriptor names, and checks it is the content the descriptor addresses. */
function readBlob(dir: string, descriptor: OciDescriptor, cap: number): { path: string; bytes: Buffer } {
  // The descriptor's digest is a checked sha256 (OciDescriptorSchema), so it names a file safely.
  const path = join(dir, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length));
  const bytes = readFileCapped(path, blobCap(descriptor, cap, path), 'OCI blob');
  checkBlobContent(bytes, descriptor, path);
  return { path, bytes };
}

/**
 * The cosign attestations of an OCI image layout directory. Each DSSE layer becomes one
 * input whose `raw` is the layer bytes and whose origin is the blob's path. With
 * `imageDigest`, the image must be in the layout and an attestation tag must name it.
 */
export function loadOciLayout(dir: string, imageDigest?: string): AttestationInput[] {
  const indexPath = join(dir, 'index.json');
  const index = parseOciIndex(
    readFileCapped(indexPath, OCI_LAYOUT_LIMITS.indexBytes, 'OCI index'),
    indexPath,
  );
  const inputs: AttestationInput[] = [];
  for (const descriptor of selectAttestationManifests(index.manifests, imageDigest, indexPath)) {
    const manifest = readBlob(dir, descriptor, OCI_LAYOUT_LIMITS.manifestBytes);
    for (const layer of attestationLayers(manifest.bytes, manifest.path)) {
      const blob = readBlob(dir, layer, OCI_LAYOUT_LIMITS.attestationBytes);
      inputs.push(cosignLayerToInput(blob.bytes, layer.annotations ?? {}, blob.path));
    }
  }
  if (inputs.length === 0) {
    throw new GateError('NO_PROVENANCE', `${indexPath}: the attestation manifests hold no DSSE layer`, {
      detail: { origin: indexPath },
    });
  }
  return inputs;
}

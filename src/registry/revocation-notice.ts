/**
 * The manifest a release tag is moved to when the digest it named is revoked.
 *
 * distribution 2.x cannot delete a tag (`DELETE /v2/<name>/manifests/<tag>` is answered
 * `DIGEST_INVALID`; only a manifest can be deleted, by digest, which also deletes the image
 * consumers pinned and its revocation VSA). So the tag is pointed elsewhere: at an OCI artifact
 * (image-spec manifest.md §Guidelines for Artifact Usage: `artifactType`, the empty config and
 * the empty descriptor as its one layer) that no container runtime runs, whose annotations
 * name the revoked digest. Its bytes are a pure function of that digest, so moving a tag again
 * pushes the same manifest, and the drift monitor can tell the gate's notice from anything else.
 */
import type { RegistryClient } from './client.ts';
import { sha256Digest } from './digest.ts';
import { EMPTY_CONFIG, manifestBytes, MEDIA_TYPES } from './oci-manifest.ts';

/** The `artifactType` of a revocation notice. */
export const REVOCATION_NOTICE_TYPE = 'application/vnd.dev.slsa-gate.revocation.v1';
/** The annotation naming the revoked digest. */
export const REVOKED_DIGEST_ANNOTATION = 'dev.slsa-gate.revoked-digest';

const emptyDescriptor = {
  mediaType: EMPTY_CONFIG.mediaType,
  digest: EMPTY_CONFIG.digest,
  size: EMPTY_CONFIG.size,
};

/** The notice's manifest bytes and digest for a revoked digest. */
export function revocationNotice(revokedDigest: string): { bytes: Uint8Array; digest: string } {
  const bytes = manifestBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: REVOCATION_NOTICE_TYPE,
    config: emptyDescriptor,
    layers: [emptyDescriptor],
    annotations: {
      [REVOKED_DIGEST_ANNOTATION]: revokedDigest,
      'org.opencontainers.image.description': `slsa-gate revoked ${revokedDigest}: do not deploy it`,
    },
  });
  return { bytes, digest: sha256Digest(bytes) };
}

/** Points `tag` at the notice of `revokedDigest`; returns the notice's digest. Idempotent. */
export async function moveTagToNotice(
  client: RegistryClient,
  repo: string,
  tag: string,
  revokedDigest: string,
): Promise<string> {
  const notice = revocationNotice(revokedDigest);
  await client.pushBlob(repo, EMPTY_CONFIG.bytes);
  return client.putManifest(repo, tag, notice.bytes, MEDIA_TYPES.ociManifest);
}

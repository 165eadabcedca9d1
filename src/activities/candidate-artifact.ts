import type { ArtifactRef } from '../core/model.ts';
import { fileLayerOf } from '../registry/file-artifact.ts';
import { artifactKindOf, type Candidate } from '../workflows/contract.ts';
import type { ActivityDeps } from './deps.ts';

/**
 * The staged file a file artifact (`oci-blob`) candidate holds, read from the manifest the
 * candidate's digest pins and held to the shape the gate publishes (fileLayerOf): never from
 * the request, which anyone with a CI job writes.
 */
export async function stagedFileOf(deps: ActivityDeps, candidate: Candidate) {
  const client = deps.registry(candidate.registry);
  const manifest = await client.getManifest(candidate.repository, candidate.digest);
  const where = `oci://${candidate.registry}/${candidate.repository}@${candidate.digest}`;
  return fileLayerOf(manifest.bytes, manifest.mediaType, where, client.limits.maxBlobBytes);
}

/** The candidate's URI: an npm package's purl, else its OCI reference by digest. */
export function artifactUriOf(candidate: Candidate): string {
  if (candidate.package === undefined)
    return `oci://${candidate.registry}/${candidate.repository}@${candidate.digest}`;
  const { name, version } = candidate.package;
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
}

/**
 * The candidate as the core checks it against the provenance subjects: a container image is
 * its manifest digest; a file artifact is the file, its layer's sha256, which is what a
 * generic provenance (slsa-github-generator generic, `gh attestation`) names; an npm package
 * is its tarball by both digests (npm's attestations bind the sha512) and its name and version.
 */
export async function artifactOf(deps: ActivityDeps, candidate: Candidate): Promise<ArtifactRef> {
  const uri = artifactUriOf(candidate);
  if (candidate.package !== undefined) {
    const { name, version, sha512 } = candidate.package;
    return {
      digests: { sha256: candidate.digest.slice('sha256:'.length), sha512 },
      uri,
      npmPackage: { name, version },
    };
  }
  if (artifactKindOf(candidate) !== 'oci-blob')
    return { digests: { sha256: candidate.digest.slice('sha256:'.length) }, uri };
  const file = await stagedFileOf(deps, candidate);
  return { digests: { sha256: file.digest.slice('sha256:'.length) }, uri, file: { name: file.title } };
}

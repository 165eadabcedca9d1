import { basename } from 'node:path';
import type { Config } from '../../config/config.ts';
import { registryClients } from '../../config/registry-clients.ts';
import { GateError } from '../../core/errors.ts';
import { readFileCapped } from '../../loaders/read-file-capped.ts';
import { DEFAULT_LIMITS } from '../../registry/client.ts';
import { buildFileArtifact, pushFileArtifact } from '../../registry/file-artifact.ts';
import { MEDIA_TYPES } from '../../registry/oci-manifest.ts';
import { parseReference, parseRepository, withoutOciScheme } from '../../registry/reference.ts';
import { fileArtifactCandidate, type Candidate } from '../../workflows/contract.ts';

/**
 * The candidate of `publish --file`: the file pushed as an OCI file artifact
 * (src/registry/file-artifact.ts) to the staging repository, by digest. Staging is writable
 * by whoever runs this: the worker checks the artifact's shape and that its file is the
 * provenance subject before anything is published (docs/policy.md#files).
 */
export async function stageFile(
  config: Config,
  file: string,
  opts: { staging: string | undefined; mediaType?: string | undefined },
): Promise<Candidate> {
  if (!opts.staging)
    throw new GateError(
      'INPUT_INVALID',
      '--file needs the staging repository to push it to: --staging host/repo or SLSA_GATE_STAGING',
      { detail: { field: '--staging' } },
    );
  const staging = parseRepository(withoutOciScheme(opts.staging));
  const bytes = readFileCapped(file, DEFAULT_LIMITS.maxBlobBytes, 'file');
  const artifact = buildFileArtifact(bytes, {
    title: basename(file),
    ...(opts.mediaType ? { mediaType: opts.mediaType } : {}),
  });
  const client = registryClients(config)(staging.registry);
  const digest = await pushFileArtifact(client, staging.repository, artifact);
  return fileArtifactCandidate(staging, digest, MEDIA_TYPES.ociManifest);
}

/** The candidate of `publish --artifact`: a file artifact already staged, its tag resolved once, here. */
export async function stagedArtifact(config: Config, reference: string): Promise<Candidate> {
  const ref = parseReference(withoutOciScheme(reference));
  const client = registryClients(config)(ref.registry);
  const digest = ref.digest ?? (await client.resolve(ref.repository, ref.tag ?? 'latest')).digest;
  const resolved = await client.resolve(ref.repository, digest);
  return fileArtifactCandidate(ref, digest, resolved.mediaType);
}

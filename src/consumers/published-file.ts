/**
 * Time-of-use check of a published file artifact, after its VSA (published-vsa.ts) passed:
 * the VSA is about the manifest digest, and the manifest is what binds the file. So the
 * manifest must be a file artifact as the gate publishes them (one layer, the gate's
 * artifactType: src/registry/file-artifact.ts), and a file the consumer holds must be that
 * layer, byte for byte (its sha256 is the layer digest).
 */
import { isGateError, type ErrorCode } from '../core/errors.ts';
import type { RegistryClient } from '../registry/client.ts';
import { sha256Digest } from '../registry/digest.ts';
import { fileLayerOf } from '../registry/file-artifact.ts';

/** The failure of the check, or undefined when the artifact holds the file (and `localFile` is it). */
export async function publishedFileFailure(
  client: RegistryClient,
  repository: string,
  digest: string,
  localFile?: { path: string; bytes: Uint8Array },
): Promise<{ code: ErrorCode; reason: string } | undefined> {
  const manifest = await client.getManifest(repository, digest);
  const where = `${client.host}/${repository}@${digest}`;
  let layer;
  try {
    layer = fileLayerOf(manifest.bytes, manifest.mediaType, where, client.limits.maxBlobBytes);
  } catch (err) {
    if (!isGateError(err) || err.layer === 'infrastructure') throw err;
    return { code: err.code, reason: err.message };
  }
  if (localFile === undefined) return undefined;
  const held = sha256Digest(localFile.bytes);
  if (held !== layer.digest)
    return {
      code: 'DIGEST_MISMATCH',
      reason: `${localFile.path} is ${held}; the artifact's file ${layer.title} is ${layer.digest}`,
    };
  return undefined;
}

/**
 * Files (a CLI binary, a source tarball) as OCI artifacts, the way ORAS and Helm store them
 * (image-spec manifest.md §Guidelines for Artifact Usage): an image manifest with an
 * `artifactType`, the empty config, and one layer holding the file, named by its
 * `org.opencontainers.image.title` annotation. The file's own sha256 is the layer digest:
 * that, not the manifest's, is what a generic SLSA provenance names as its subject.
 */
import { GateError } from '../core/errors.ts';
import type { RegistryClient } from './client.ts';
import { sha256Digest } from './digest.ts';
import {
  EMPTY_CONFIG,
  manifestBytes,
  MEDIA_TYPES,
  parseImageManifest,
  type Descriptor,
} from './oci-manifest.ts';

/** The one artifactType the gate stages and publishes files under. */
export const FILE_ARTIFACT_TYPE = 'application/vnd.dev.slsa-gate.file.v1';
/** image-spec annotations.md: the file name a puller (`oras pull`) writes the layer to. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
/** The layer's media type when none is given (ORAS's default for a file). */
export const DEFAULT_FILE_MEDIA_TYPE = 'application/octet-stream';

/** RFC 6838 §4.2 type/subtype, bounded. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/**
 * A title a puller may write as a file name in its current directory: one path component,
 * printable, not `.` or `..` (ORAS refuses a title that escapes the output directory; the gate
 * refuses it before it is published).
 */
function isSafeFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\u0000-\u001f\u007f]/.test(name)
  );
}

/** A file artifact ready to push: the file, the manifest bytes and their digests. */
export interface BuiltFileArtifact {
  manifest: Uint8Array;
  digest: string;
  /** The layer: the file's bytes and its sha256 (the provenance subject digest). */
  file: { bytes: Uint8Array; digest: string; mediaType: string; title: string };
}

/** The manifest of `bytes` published as file `title` (deterministic: the same file gives the same digest). */
export function buildFileArtifact(
  bytes: Uint8Array,
  opts: { title: string; mediaType?: string },
): BuiltFileArtifact {
  const mediaType = opts.mediaType ?? DEFAULT_FILE_MEDIA_TYPE;
  if (!MEDIA_TYPE.test(mediaType))
    throw new GateError('INPUT_INVALID', `file media type ${JSON.stringify(mediaType)} is not type/subtype`, {
      detail: { field: 'mediaType' },
    });
  if (!isSafeFileName(opts.title))
    throw new GateError(
      'INPUT_INVALID',
      `file name ${JSON.stringify(opts.title)} is not one path component`,
      {
        detail: { field: 'title' },
      },
    );
  const digest = sha256Digest(bytes);
  const manifest = manifestBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: FILE_ARTIFACT_TYPE,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: [{ mediaType, digest, size: bytes.byteLength, annotations: { [TITLE_ANNOTATION]: opts.title } }],
    annotations: { [TITLE_ANNOTATION]: opts.title },
  });
  return {
    manifest,
    digest: sha256Digest(manifest),
    file: { bytes, digest, mediaType, title: opts.title },
  };
}

/** Pushes the empty config, the file and the manifest (by digest, then `tag` if given); returns the manifest digest. */
export async function pushFileArtifact(
  client: RegistryClient,
  repository: string,
  artifact: BuiltFileArtifact,
  tag?: string,
): Promise<string> {
  await client.pushBlob(repository, EMPTY_CONFIG.bytes);
  await client.pushBlob(repository, artifact.file.bytes);
  const digest = await client.putManifest(
    repository,
    artifact.digest,
    artifact.manifest,
    MEDIA_TYPES.ociManifest,
  );
  if (tag !== undefined) await client.tag(repository, tag, digest);
  return digest;
}

function invalid(where: string, message: string): GateError {
  return new GateError('ARTIFACT_INVALID', `${where}: ${message}`, { detail: { where } });
}

/**
 * The file a staged manifest holds, or ARTIFACT_INVALID naming what is wrong. Anyone who can
 * push to staging chose these bytes, so everything the gate would publish is pinned here:
 * the gate's artifactType (a consumer's tool picks its handling by it), the empty config (no
 * second, unverified blob), exactly one layer (the file the provenance names: a second one
 * would ride along unverified), no `subject` (published, it would show up as a referrer of
 * another artifact in the release repository), a sha256 layer digest (what the provenance
 * subject is compared with), a file name that stays in the puller's directory, and a size
 * within what the gate copies (LIMIT_EXCEEDED).
 */
export function fileLayerOf(
  manifestBytesRead: Uint8Array,
  mediaType: string,
  where: string,
  maxFileBytes: number,
): Descriptor & { title: string } {
  if (mediaType !== MEDIA_TYPES.ociManifest)
    throw invalid(where, `a file artifact is an OCI image manifest, not ${mediaType}`);
  const manifest = parseImageManifest(manifestBytesRead, where);
  if (manifest.artifactType !== FILE_ARTIFACT_TYPE)
    throw invalid(
      where,
      `artifactType ${JSON.stringify(manifest.artifactType ?? null)} is not ${FILE_ARTIFACT_TYPE}`,
    );
  const { config } = manifest;
  if (
    config.mediaType !== EMPTY_CONFIG.mediaType ||
    config.digest !== EMPTY_CONFIG.digest ||
    config.size !== EMPTY_CONFIG.size
  )
    throw invalid(where, `config is ${config.mediaType} ${config.digest}, not the empty descriptor`);
  if (manifest.subject !== undefined)
    throw invalid(where, `the manifest names a subject (${manifest.subject.digest}): it is a referrer`);
  if (manifest.layers.length !== 1)
    throw invalid(where, `${manifest.layers.length} layers: a file artifact holds exactly one`);
  const layer = manifest.layers[0]!;
  if (!/^sha256:[0-9a-f]{64}$/.test(layer.digest))
    throw invalid(where, `layer digest ${layer.digest} is not sha256`);
  if (!MEDIA_TYPE.test(layer.mediaType)) throw invalid(where, `layer media type is not type/subtype`);
  const title = layer.annotations?.[TITLE_ANNOTATION];
  if (title === undefined || !isSafeFileName(title))
    throw invalid(where, `layer ${TITLE_ANNOTATION} ${JSON.stringify(title ?? null)} is not a file name`);
  if (layer.size > maxFileBytes)
    throw new GateError('LIMIT_EXCEEDED', `${where}: file is ${layer.size} bytes, over ${maxFileBytes}`, {
      detail: { where, size: layer.size, limit: maxFileBytes },
    });
  return { ...layer, title };
}

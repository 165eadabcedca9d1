import { GateError } from '../core/errors.ts';
import type { RegistryClient } from './client.ts';
import { assertDigest, isDigest, sha256Digest } from './digest.ts';
import {
  EMPTY_CONFIG,
  manifestBytes,
  MEDIA_TYPES,
  parseImageIndex,
  parseImageManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from './oci-manifest.ts';
import { registryError } from './registry-error.ts';

/** A referrer as listed in a referrers index: the artifact manifest's descriptor. */
export type ReferrerDescriptor = Descriptor;

/** One layer of an artifact to attach. */
export interface ReferrerLayer {
  mediaType: string;
  bytes: Uint8Array;
  annotations?: Record<string, string>;
}

/** A referrer manifest fetched by digest and checked to be about the expected subject. */
export interface FetchedReferrer {
  digest: string;
  bytes: Uint8Array;
  manifest: ImageManifest;
}

const FALLBACK_UPDATE_ATTEMPTS = 3;

/**
 * The referrers tag schema (distribution spec §Referrers Tag Schema):
 * `<alg>-<ref>`, the reference truncated to 64 characters.
 */
export function referrersTag(digest: string): string {
  assertDigest(digest, 'referrers subject');
  const [alg, hex] = digest.split(':') as [string, string];
  return `${alg}-${hex.slice(0, 64)}`;
}

function checkReferrers(
  index: Pick<ImageIndex, 'manifests'>,
  client: RegistryClient,
  where: string,
): ReferrerDescriptor[] {
  if (index.manifests.length > client.limits.maxReferrers) {
    throw registryError(
      'LIMIT_EXCEEDED',
      `${where}: ${index.manifests.length} referrers, over ${client.limits.maxReferrers}`,
      {
        where,
        limit: client.limits.maxReferrers,
        count: index.manifests.length,
      },
    );
  }
  for (const [i, d] of index.manifests.entries()) {
    if (!isDigest(d.digest)) {
      throw registryError(
        'REGISTRY_ERROR',
        `${where}: manifests[${i}].digest "${d.digest}" is not a digest`,
        {
          where,
        },
      );
    }
  }
  return index.manifests;
}

/** The referrers fallback index under the `sha256-<hex>` tag, or an empty list when the tag does not exist. */
async function readFallbackIndex(
  client: RegistryClient,
  repo: string,
  digest: string,
): Promise<ReferrerDescriptor[]> {
  const tag = referrersTag(digest);
  const where = `referrers fallback ${repo}:${tag}`;
  const fetched = await client.getManifestByTag(repo, tag);
  if (fetched === undefined) return [];
  if (fetched.mediaType !== MEDIA_TYPES.ociIndex) {
    throw registryError('REGISTRY_ERROR', `${where}: is ${fetched.mediaType}, not an OCI image index`, {
      where,
    });
  }
  return checkReferrers(parseImageIndex(fetched.bytes, where), client, where);
}

/** Every page of the referrers API, or undefined when the registry has none; the count is capped across pages. */
async function readReferrersApi(
  client: RegistryClient,
  repo: string,
  digest: string,
): Promise<ReferrerDescriptor[] | undefined> {
  const where = `referrers ${repo}@${digest}`;
  let page = await client.getReferrersPage(repo, digest);
  if (page === undefined) return undefined;
  const all: ReferrerDescriptor[] = [];
  for (;;) {
    const manifests = parseImageIndex(page.bytes, where).manifests;
    all.push(...manifests);
    checkReferrers({ manifests: all }, client, where);
    if (page.next === undefined) return all;
    // Every page must make progress, so the count cap bounds the number of pages.
    if (manifests.length === 0) {
      throw registryError('REGISTRY_ERROR', `${where}: empty page with a next link`, {
        where,
      });
    }
    page = await client.getReferrersPage(repo, digest, page.next);
    if (page === undefined) {
      throw registryError('REGISTRY_UNAVAILABLE', `${where}: next page vanished (404)`, { where });
    }
  }
}

/**
 * Lists the referrers of `digest`: the referrers API when the registry serves
 * it (404 means it does not), else the tag schema fallback. `artifactType`
 * filters client-side, so a registry ignoring the filter changes nothing.
 */
export async function listReferrers(
  client: RegistryClient,
  repo: string,
  digest: string,
  artifactType?: string,
): Promise<ReferrerDescriptor[]> {
  assertDigest(digest, `referrers subject in ${repo}`);
  const fromApi = await readReferrersApi(client, repo, digest);
  const all = fromApi ?? (await readFallbackIndex(client, repo, digest));
  return artifactType === undefined ? all : all.filter((d) => d.artifactType === artifactType);
}

/**
 * Fetches a listed referrer by digest and checks that its `subject` is the
 * expected manifest: the fallback index is a mutable tag, the manifest is not.
 */
export async function getReferrer(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
): Promise<FetchedReferrer> {
  const where = `referrer ${repo}@${descriptor.digest}`;
  if (descriptor.size > client.limits.maxManifestBytes) {
    throw registryError(
      'LIMIT_EXCEEDED',
      `${where}: manifest is ${descriptor.size} bytes, over ${client.limits.maxManifestBytes}`,
      {
        where,
      },
    );
  }
  const fetched = await client.getManifest(repo, descriptor.digest);
  const manifest = parseImageManifest(fetched.bytes, where);
  if (manifest.subject?.digest !== subjectDigest) {
    throw new GateError(
      'SUBJECT_MISMATCH',
      `${where}: subject is ${manifest.subject?.digest ?? 'absent'}, not ${subjectDigest}`,
      {
        detail: { where, expected: subjectDigest, actual: manifest.subject?.digest },
      },
    );
  }
  if (manifest.layers.length > client.limits.maxIndexEntries) {
    throw registryError(
      'LIMIT_EXCEEDED',
      `${where}: ${manifest.layers.length} layers, over ${client.limits.maxIndexEntries}`,
      {
        where,
      },
    );
  }
  return { digest: fetched.digest, bytes: fetched.bytes, manifest };
}

/**
 * Pushes an OCI artifact manifest (image-spec manifest.md §Guidelines for
 * Artifact Usage: empty config, `artifactType`, `subject`) and, when the
 * registry has no referrers API, adds it to the `sha256-<hex>` fallback index.
 * The manifest is a pure function of its inputs, so re-attaching the same
 * artifact yields the same digest and leaves the index unchanged.
 */
export async function attachReferrer(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  artifactType: string,
  layers: ReferrerLayer[],
  annotations?: Record<string, string>,
): Promise<string> {
  const subject = await client.resolve(repo, subjectDigest);
  await client.pushBlob(repo, EMPTY_CONFIG.bytes);
  const layerDescriptors: Descriptor[] = [];
  for (const layer of layers) {
    const digest = await client.pushBlob(repo, layer.bytes);
    layerDescriptors.push({
      mediaType: layer.mediaType,
      digest,
      size: layer.bytes.byteLength,
      ...(layer.annotations === undefined ? {} : { annotations: layer.annotations }),
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: layerDescriptors,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(annotations === undefined ? {} : { annotations }),
  };
  const bytes = manifestBytes(manifest);
  const digest = await client.putManifest(repo, sha256Digest(bytes), bytes, MEDIA_TYPES.ociManifest);
  if (await client.hasReferrersApi(repo, subject.digest)) return digest;
  const descriptor: ReferrerDescriptor = {
    mediaType: MEDIA_TYPES.ociManifest,
    digest,
    size: bytes.byteLength,
    artifactType,
    ...(annotations === undefined ? {} : { annotations }),
  };
  await addToFallbackIndex(client, repo, subject.digest, descriptor);
  return digest;
}

/**
 * Read, append, write, read back: the tag schema has no compare-and-swap, so a
 * concurrent writer can drop our entry; reading back and retrying repairs that.
 */
async function addToFallbackIndex(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  descriptor: ReferrerDescriptor,
): Promise<void> {
  const tag = referrersTag(subjectDigest);
  for (let attempt = 0; attempt < FALLBACK_UPDATE_ATTEMPTS; attempt++) {
    const current = await readFallbackIndex(client, repo, subjectDigest);
    if (current.some((d) => d.digest === descriptor.digest)) return;
    if (current.length + 1 > client.limits.maxReferrers) {
      throw registryError(
        'LIMIT_EXCEEDED',
        `referrers fallback ${repo}:${tag} already holds ${current.length} referrers`,
        {
          repo,
          tag,
        },
      );
    }
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...current, descriptor] };
    await client.putManifest(repo, tag, manifestBytes(index), MEDIA_TYPES.ociIndex);
  }
  const final = await readFallbackIndex(client, repo, subjectDigest);
  if (!final.some((d) => d.digest === descriptor.digest)) {
    throw registryError(
      'REGISTRY_UNAVAILABLE',
      `referrers fallback ${repo}:${tag} kept losing our entry to concurrent writers`,
      {
        repo,
        tag,
      },
    );
  }
}

import type { RegistryClient } from './client.ts';
import { assertDigest } from './digest.ts';
import {
  INDEX_TYPES,
  MANIFEST_TYPES,
  parseImageIndex,
  parseImageManifest,
  type Descriptor,
} from './oci-manifest.ts';
import { registryError } from './registry-error.ts';

/** One step of a copy, reported as it completes (activities heartbeat with it). */
export interface CopyProgress {
  kind: 'blob' | 'manifest';
  digest: string;
  /** `skipped`: already in the target; `mounted`: cross-repo mount; `copied`/`pushed`: bytes sent. */
  action: 'skipped' | 'mounted' | 'copied' | 'pushed';
  /** Steps completed so far. */
  done: number;
}

/** Options of copyImage. */
export interface CopyImageOptions {
  /** The client of the target registry when it is another host; defaults to the source client. */
  target?: RegistryClient;
  onProgress?: (progress: CopyProgress) => void;
}

/** What copyImage did. */
export interface CopyImageResult {
  digest: string;
  mediaType: string;
  /** Every manifest digest of the image (children first, the top one last). */
  manifests: string[];
  blobs: { mounted: number; copied: number; skipped: number };
  manifestsPushed: number;
}

/**
 * Copies an image by digest: blobs first, then child manifests, then the top
 * manifest, because a registry may refuse a manifest whose references are
 * missing (distribution spec §Pushing Manifests). Everything already in the
 * target is skipped, so a re-run after a crash pushes nothing new, and every
 * manifest is pushed by digest with its exact bytes, so the result cannot differ.
 */
export async function copyImage(
  source: RegistryClient,
  fromRepo: string,
  toRepo: string,
  digest: string,
  opts: CopyImageOptions = {},
): Promise<CopyImageResult> {
  const target = opts.target ?? source;
  const sameRegistry = target.host === source.host;
  const seenBlobs = new Set<string>();
  const manifests: string[] = [];
  const blobs = { mounted: 0, copied: 0, skipped: 0 };
  let manifestsPushed = 0;
  let done = 0;
  const report = (kind: CopyProgress['kind'], d: string, action: CopyProgress['action']) =>
    opts.onProgress?.({ kind, digest: d, action, done: ++done });

  async function copyBlob(descriptor: Descriptor): Promise<void> {
    assertDigest(descriptor.digest, `blob descriptor in ${fromRepo}`);
    if (seenBlobs.has(descriptor.digest)) return;
    seenBlobs.add(descriptor.digest);
    if (await target.blobExists(toRepo, descriptor.digest)) {
      blobs.skipped++;
      report('blob', descriptor.digest, 'skipped');
      return;
    }
    if (sameRegistry) {
      const how = await target.mountBlob(fromRepo, toRepo, descriptor.digest);
      blobs[how]++;
      report('blob', descriptor.digest, how);
      return;
    }
    const bytes = await source.getDescribedBlob(fromRepo, descriptor, source.limits.maxBlobBytes);
    await target.pushBlob(toRepo, bytes);
    blobs.copied++;
    report('blob', descriptor.digest, 'copied');
  }

  async function copyManifest(d: string, depth: number): Promise<string> {
    const where = `copy ${fromRepo}@${d}`;
    if (depth > source.limits.maxIndexDepth) {
      throw registryError(
        'LIMIT_EXCEEDED',
        `${where}: indexes nested deeper than ${source.limits.maxIndexDepth}`,
        {
          where,
        },
      );
    }
    const manifest = await source.getManifest(fromRepo, d);
    if (INDEX_TYPES.includes(manifest.mediaType)) {
      const index = parseImageIndex(manifest.bytes, where);
      checkCount(index.manifests.length, source.limits.maxIndexEntries, where);
      for (const child of index.manifests) {
        if (!MANIFEST_TYPES.includes(child.mediaType)) {
          throw registryError(
            'REGISTRY_ERROR',
            `${where}: child ${child.digest} has media type ${child.mediaType}`,
            {
              where,
            },
          );
        }
        assertDigest(child.digest, `child of ${where}`);
        if (child.size > source.limits.maxManifestBytes) {
          throw registryError('LIMIT_EXCEEDED', `${where}: child ${child.digest} is ${child.size} bytes`, {
            where,
          });
        }
        await copyManifest(child.digest, depth + 1);
      }
    } else {
      const image = parseImageManifest(manifest.bytes, where);
      checkCount(image.layers.length, source.limits.maxIndexEntries, where);
      for (const blob of [image.config, ...image.layers]) await copyBlob(blob);
    }
    if (await target.manifestExists(toRepo, manifest.digest)) {
      report('manifest', manifest.digest, 'skipped');
    } else {
      await target.putManifest(toRepo, manifest.digest, manifest.bytes, manifest.mediaType);
      manifestsPushed++;
      report('manifest', manifest.digest, 'pushed');
    }
    manifests.push(manifest.digest);
    return manifest.mediaType;
  }

  const mediaType = await copyManifest(digest, 0);
  return { digest, mediaType, manifests, blobs, manifestsPushed };
}

function checkCount(count: number, limit: number, where: string): void {
  if (count > limit) {
    throw registryError('LIMIT_EXCEEDED', `${where}: ${count} entries, over ${limit}`, {
      where,
      limit,
      count,
    });
  }
}

import { GateError } from '../core/errors.ts';
import { ChallengeAuth, type AuthScope, type RegistryAuth } from './auth.ts';
import type { CredentialsProvider } from './credentials.ts';
import { assertDigest, digestLike, isDigest, sha256Digest } from './digest.ts';
import { declaredMediaType, MANIFEST_TYPES, MEDIA_TYPES, type Descriptor } from './oci-manifest.ts';
import { readCapped } from './read-capped.ts';
import { assertRepositoryName, isTag } from './reference.ts';
import { registryError } from './registry-error.ts';
import { DEFAULT_RETRY_POLICY, Transport, type RetryPolicy } from './transport.ts';

/** Size and count limits, checked before allocating and while streaming (docs/checklist.md#row-25). */
export interface RegistryLimits {
  maxManifestBytes: number;
  maxAttestationLayerBytes: number;
  maxReferrers: number;
  /** Largest blob copied through memory when a cross-repo mount is not possible. */
  maxBlobBytes: number;
  /** Nesting of indexes inside indexes that copyImage follows. */
  maxIndexDepth: number;
  /** Entries of one image index, and layers of one manifest, that are followed. */
  maxIndexEntries: number;
}

/** 4 MiB manifests, 10 MiB attestation layers, 1000 referrers (docs/checklist.md#row-25). */
export const DEFAULT_LIMITS: RegistryLimits = {
  maxManifestBytes: 4 * 1024 * 1024,
  maxAttestationLayerBytes: 10 * 1024 * 1024,
  maxReferrers: 1000,
  maxBlobBytes: 512 * 1024 * 1024,
  maxIndexDepth: 4,
  maxIndexEntries: 1000,
};

/** Options of a RegistryClient. */
export interface RegistryClientOptions {
  /** `host[:port]` reachable over plain http: loopback hosts and single-label container-network names only. */
  insecureHosts?: readonly string[];
  /** Credentials for Basic challenges; ignored when `auth` is given. */
  credentials?: CredentialsProvider;
  /** A custom authentication hook (e.g. the Bearer token flow). */
  auth?: RegistryAuth;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout in milliseconds (default 60 s). */
  timeoutMs?: number;
  limits?: Partial<RegistryLimits>;
  /** Aborts every request (e.g. the activity's cancellation signal). */
  signal?: AbortSignal;
}

/** A manifest as resolved by HEAD (or GET): digest, media type and size. */
export interface ResolvedManifest {
  digest: string;
  mediaType: string;
  size: number;
}

/** Manifest bytes whose sha256 has been checked against the digest they were fetched by. */
export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/**
 * Hosts plain http may reach when the operator lists them: loopback, and single-label names
 * starting with a letter, which only a container network (a compose service, a Kubernetes
 * service of the pod's namespace) or the hosts file answers, never public DNS, and which no
 * URL parser reads as an IP address. A dotted name or any other address is refused.
 */
const PLAIN_HTTP_HOST =
  /^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\]|[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$/;

const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ');

const pull = (repository: string): AuthScope => ({ repository, actions: ['pull'] });
const push = (repository: string): AuthScope => ({ repository, actions: ['pull', 'push'] });

/** DIGEST_MISMATCH unless `bytes` hash to `digest` (with the digest's own algorithm). */
function checkDigest(digest: string, bytes: Uint8Array, what: string): void {
  const actual = digestLike(digest, bytes);
  if (actual !== digest) {
    throw registryError('DIGEST_MISMATCH', `${what}: bytes hash to ${actual}, not ${digest}`, {
      expected: digest,
      actual,
    });
  }
}

function baseMediaType(contentType: string | null): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/**
 * A client of one OCI distribution registry (distribution spec v1.1). Every
 * manifest and blob that comes back is checked against the digest it was asked
 * for; tags are only ever resolved, never trusted past that.
 */
export class RegistryClient {
  /** `host[:port]` of this registry, as written in image references. */
  readonly host: string;
  readonly limits: RegistryLimits;
  readonly #base: URL;
  readonly #transport: Transport;
  #referrersApi: boolean | undefined;

  constructor(baseUrl: string, options: RegistryClientOptions = {}) {
    let base: URL;
    try {
      base = new URL(baseUrl);
    } catch (cause) {
      throw new GateError('CONFIG_INVALID', `registry URL "${baseUrl}" is not a URL`, { cause });
    }
    if ((base.pathname !== '/' && base.pathname !== '') || base.search !== '' || base.username !== '') {
      throw new GateError('CONFIG_INVALID', `registry URL "${baseUrl}" must be scheme://host[:port] only`);
    }
    const insecureHosts = new Set(options.insecureHosts ?? []);
    for (const host of insecureHosts) {
      if (!PLAIN_HTTP_HOST.test(host.replace(/:\d+$/, ''))) {
        throw new GateError(
          'CONFIG_INVALID',
          `insecure registry host "${host}" is neither loopback nor a single-label container-network name`,
          {
            detail: { host },
          },
        );
      }
    }
    if (base.protocol === 'http:' && !insecureHosts.has(base.host)) {
      throw new GateError(
        'CONFIG_INVALID',
        `registry URL "${baseUrl}" is plain http but ${base.host} is not in insecureHosts`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new GateError('CONFIG_INVALID', `registry URL "${baseUrl}" must be http(s)`);
    }
    this.#base = base;
    this.host = base.host;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    // Anonymous access still answers challenges: public registries hand out anonymous Bearer tokens.
    const auth =
      options.auth ??
      new ChallengeAuth(base.host, options.credentials ?? (() => Promise.resolve(undefined)), {
        insecureHosts,
        timeoutMs: options.timeoutMs ?? 60_000,
      });
    this.#transport = new Transport({
      auth,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      timeoutMs: options.timeoutMs ?? 60_000,
      insecureHosts,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** A client for `host[:port]`: plain http when the host is listed in `insecureHosts`, https otherwise. */
  static forHost(host: string, options: RegistryClientOptions = {}): RegistryClient {
    const scheme = options.insecureHosts?.includes(host) ? 'http' : 'https';
    return new RegistryClient(`${scheme}://${host}`, options);
  }

  /** Resolves a tag or digest to the manifest's digest, media type and size (HEAD, GET when the header is missing). */
  async resolve(repo: string, tagOrDigest: string): Promise<ResolvedManifest> {
    assertRepositoryName(repo);
    const byDigest = isDigest(tagOrDigest);
    if (!byDigest && !isTag(tagOrDigest)) {
      throw new GateError('INPUT_INVALID', `"${tagOrDigest}" is neither a tag nor a digest`, {
        detail: { repo, reference: tagOrDigest },
      });
    }
    const what = `HEAD manifest ${repo}:${tagOrDigest}`;
    const head = await this.#transport.exchange(
      {
        method: 'HEAD',
        url: this.#url(`/v2/${repo}/manifests/${tagOrDigest}`),
        scope: pull(repo),
        what,
        expect: [200],
        headers: { accept: MANIFEST_ACCEPT },
      },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        return {
          digest: res.headers.get('docker-content-digest'),
          mediaType: baseMediaType(res.headers.get('content-type')),
          size: Number(res.headers.get('content-length') ?? NaN),
        };
      },
    );
    if (
      head.digest !== null &&
      isDigest(head.digest) &&
      head.mediaType !== undefined &&
      Number.isSafeInteger(head.size)
    ) {
      this.#checkManifestType(head.mediaType, what);
      if (byDigest && head.digest !== tagOrDigest) {
        throw registryError('DIGEST_MISMATCH', `${what}: registry reports ${head.digest}`, {
          repo,
          expected: tagOrDigest,
          actual: head.digest,
        });
      }
      return { digest: head.digest, mediaType: head.mediaType, size: head.size };
    }
    const got = await this.#fetchManifest(repo, tagOrDigest);
    return { digest: got.digest, mediaType: got.mediaType, size: got.bytes.byteLength };
  }

  /** Fetches a manifest by digest only (a tag is MUTABLE_REF); the bytes are checked against the digest. */
  async getManifest(repo: string, digest: string): Promise<FetchedManifest> {
    if (!isDigest(digest)) {
      if (isTag(digest)) {
        throw new GateError(
          'MUTABLE_REF',
          `manifest ${repo}:${digest} requested by tag; only a digest pins content`,
          {
            detail: { repo, reference: digest },
          },
        );
      }
      assertDigest(digest, `manifest reference in ${repo}`);
    }
    return this.#fetchManifest(repo, digest);
  }

  /**
   * GET a manifest by tag or digest. The digest returned is always the hash of
   * the bytes; a digest reference or a Docker-Content-Digest header that differs
   * is DIGEST_MISMATCH.
   */
  async #fetchManifest(repo: string, reference: string): Promise<FetchedManifest> {
    assertRepositoryName(repo);
    const what = `GET manifest ${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
    return this.#transport.exchange(
      {
        method: 'GET',
        url: this.#url(`/v2/${repo}/manifests/${reference}`),
        scope: pull(repo),
        what,
        expect: [200],
        headers: { accept: MANIFEST_ACCEPT },
      },
      async (res) => {
        const bytes = await readCapped(res, this.limits.maxManifestBytes, what);
        // Both the digest we asked for and the one the registry claims must be the bytes' own.
        for (const claimed of [reference, res.headers.get('docker-content-digest')]) {
          if (claimed !== null && isDigest(claimed)) checkDigest(claimed, bytes, what);
        }
        const contentType = baseMediaType(res.headers.get('content-type'));
        const declared = declaredMediaType(bytes, what);
        const mediaType = declared ?? contentType;
        if (mediaType === undefined) {
          throw registryError('REGISTRY_ERROR', `${what}: no media type in the body or the Content-Type`, {
            repo,
          });
        }
        this.#checkManifestType(mediaType, what);
        // image-spec manifest.md: a declared mediaType must agree with how the registry serves it.
        if (
          declared !== undefined &&
          contentType !== undefined &&
          MANIFEST_TYPES.includes(contentType) &&
          declared !== contentType
        ) {
          throw registryError(
            'REGISTRY_ERROR',
            `${what}: body says ${declared}, Content-Type says ${contentType}`,
            {
              repo,
            },
          );
        }
        return { bytes, mediaType, digest: isDigest(reference) ? reference : sha256Digest(bytes) };
      },
    );
  }

  #checkManifestType(mediaType: string, what: string): void {
    if (!MANIFEST_TYPES.includes(mediaType)) {
      throw registryError('REGISTRY_ERROR', `${what}: unsupported manifest media type ${mediaType}`, {
        mediaType,
      });
    }
  }

  /** Fetches a blob by digest, at most `maxBytes`, and checks its digest. */
  async getBlob(repo: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    assertRepositoryName(repo);
    assertDigest(digest, `blob digest in ${repo}`);
    const what = `GET blob ${repo}@${digest}`;
    return this.#transport.exchange(
      {
        method: 'GET',
        url: this.#url(`/v2/${repo}/blobs/${digest}`),
        scope: pull(repo),
        what,
        expect: [200],
      },
      async (res) => {
        const bytes = await readCapped(res, maxBytes, what);
        checkDigest(digest, bytes, what);
        return bytes;
      },
    );
  }

  /**
   * Fetches a layer a descriptor names, refusing before any request when the
   * descriptor's size is over `maxBytes`, and checking the size and digest after.
   */
  async getDescribedBlob(
    repo: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    maxBytes: number,
  ): Promise<Uint8Array> {
    if (descriptor.size > maxBytes) {
      throw registryError(
        'LIMIT_EXCEEDED',
        `blob ${repo}@${descriptor.digest} is ${descriptor.size} bytes, over ${maxBytes}`,
        {
          repo,
          digest: descriptor.digest,
          limit: maxBytes,
          size: descriptor.size,
        },
      );
    }
    const bytes = await this.getBlob(repo, descriptor.digest, descriptor.size);
    if (bytes.byteLength !== descriptor.size) {
      throw registryError(
        'DIGEST_MISMATCH',
        `blob ${repo}@${descriptor.digest} is ${bytes.byteLength} bytes, descriptor says ${descriptor.size}`,
        {
          repo,
          digest: descriptor.digest,
        },
      );
    }
    return bytes;
  }

  /** Fetches an attestation layer (DSSE envelope) under the attestation size limit (10 MiB by default). */
  async getAttestationLayer(
    repo: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
  ): Promise<Uint8Array> {
    return this.getDescribedBlob(repo, descriptor, this.limits.maxAttestationLayerBytes);
  }

  /** True when the repository holds the blob (HEAD). */
  async blobExists(repo: string, digest: string): Promise<boolean> {
    assertRepositoryName(repo);
    assertDigest(digest, `blob digest in ${repo}`);
    return this.#transport.exchange(
      {
        method: 'HEAD',
        url: this.#url(`/v2/${repo}/blobs/${digest}`),
        scope: pull(repo),
        what: `HEAD blob ${repo}@${digest}`,
        expect: [200, 404],
      },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        return res.status === 200;
      },
    );
  }

  /** True when the repository holds the manifest with this digest (HEAD). */
  async manifestExists(repo: string, digest: string): Promise<boolean> {
    assertRepositoryName(repo);
    assertDigest(digest, `manifest digest in ${repo}`);
    const what = `HEAD manifest ${repo}@${digest}`;
    return this.#transport.exchange(
      {
        method: 'HEAD',
        url: this.#url(`/v2/${repo}/manifests/${digest}`),
        scope: pull(repo),
        what,
        expect: [200, 404],
        headers: { accept: MANIFEST_ACCEPT },
      },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        const header = res.headers.get('docker-content-digest');
        if (res.status === 200 && header !== null && header !== digest) {
          throw registryError('DIGEST_MISMATCH', `${what}: registry reports ${header}`, {
            repo,
            expected: digest,
            actual: header,
          });
        }
        return res.status === 200;
      },
    );
  }

  /** Pushes a blob monolithically (POST then PUT, distribution spec §Pushing a blob monolithically); skipped when present. */
  async pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    if (await this.blobExists(repo, digest)) return digest;
    try {
      const location = await this.#startUpload(repo);
      await this.#finishUpload(repo, location, digest, bytes);
    } catch (err) {
      // A retried PUT whose first attempt landed finds its session gone: the blob is there.
      if (await this.blobExists(repo, digest).catch(() => false)) return digest;
      throw err;
    }
    return digest;
  }

  /**
   * Mounts a blob from another repository of this registry (distribution spec
   * §Mounting a blob from another repository). 201 means mounted; 202 means the
   * registry opened an upload instead, and the blob is copied through it.
   */
  async mountBlob(fromRepo: string, toRepo: string, digest: string): Promise<'mounted' | 'copied'> {
    assertRepositoryName(fromRepo);
    assertRepositoryName(toRepo);
    assertDigest(digest, `blob digest to mount into ${toRepo}`);
    const scope: AuthScope = { repository: toRepo, actions: ['pull', 'push'], mountFrom: fromRepo };
    const url = this.#url(`/v2/${toRepo}/blobs/uploads/`);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepo);
    const what = `mount blob ${digest} from ${fromRepo} into ${toRepo}`;
    const outcome = await this.#transport.exchange(
      { method: 'POST', url, scope, expect: [201, 202], what, headers: { 'content-length': '0' } },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        return { status: res.status, location: res.headers.get('location') };
      },
    );
    if (outcome.status === 201) return 'mounted';
    if (outcome.location === null) {
      throw registryError('REGISTRY_ERROR', `${what}: 202 without a Location header`, {});
    }
    const bytes = await this.getBlob(fromRepo, digest, this.limits.maxBlobBytes);
    await this.#finishUpload(toRepo, new URL(outcome.location, this.#base), digest, bytes);
    return 'copied';
  }

  async #startUpload(repo: string): Promise<URL> {
    const what = `start upload to ${repo}`;
    return this.#transport.exchange(
      {
        method: 'POST',
        url: this.#url(`/v2/${repo}/blobs/uploads/`),
        scope: push(repo),
        what,
        expect: [202],
        headers: { 'content-length': '0' },
      },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        const location = res.headers.get('location');
        if (location === null) {
          throw registryError('REGISTRY_ERROR', `${what}: 202 without a Location header`, {});
        }
        return new URL(location, this.#base);
      },
    );
  }

  async #finishUpload(repo: string, location: URL, digest: string, bytes: Uint8Array): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    await this.#transport.exchange(
      {
        method: 'PUT',
        url,
        scope: { repository: repo, actions: ['pull', 'push'] },
        expect: [201],
        what: `PUT blob ${repo}@${digest}`,
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
      },
    );
  }

  /**
   * Puts a manifest under a tag or its digest and returns its digest, checked
   * three ways: a digest reference, our sha256 of the bytes, and the registry's
   * Docker-Content-Digest must all agree.
   */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    assertRepositoryName(repo);
    const what = `PUT manifest ${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
    if (!isDigest(reference) && !isTag(reference)) {
      throw new GateError('INPUT_INVALID', `${what}: "${reference}" is neither a tag nor a digest`, {
        detail: { repo, reference },
      });
    }
    if (!MANIFEST_TYPES.includes(mediaType)) {
      throw new GateError('INPUT_INVALID', `${what}: unsupported manifest media type ${mediaType}`, {
        detail: { repo, mediaType },
      });
    }
    if (bytes.byteLength > this.limits.maxManifestBytes) {
      throw registryError(
        'LIMIT_EXCEEDED',
        `${what}: manifest is ${bytes.byteLength} bytes, over ${this.limits.maxManifestBytes}`,
        {
          repo,
        },
      );
    }
    const declared = declaredMediaType(bytes, what);
    if (declared !== undefined && declared !== mediaType) {
      throw new GateError('INPUT_INVALID', `${what}: body declares ${declared}, pushed as ${mediaType}`, {
        detail: { repo },
      });
    }
    const digest = isDigest(reference) ? digestLike(reference, bytes) : sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw registryError('DIGEST_MISMATCH', `${what}: bytes hash to ${digest}`, {
        repo,
        expected: reference,
        actual: digest,
      });
    }
    const header = await this.#transport.exchange(
      {
        method: 'PUT',
        url: this.#url(`/v2/${repo}/manifests/${reference}`),
        scope: push(repo),
        what,
        expect: [201],
        headers: { 'content-type': mediaType },
        body: bytes,
      },
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        return res.headers.get('docker-content-digest');
      },
    );
    // distribution spec §Pushing Manifests: the header is optional; without it, read back what the reference names.
    const registryDigest = header ?? (await this.resolve(repo, reference)).digest;
    if (
      !isDigest(registryDigest) ||
      digestLike(registryDigest, bytes) !== registryDigest ||
      registryDigest !== digest
    ) {
      throw registryError(
        'DIGEST_MISMATCH',
        `${what}: registry stored ${registryDigest}, we pushed ${digest}`,
        {
          repo,
          expected: digest,
          actual: registryDigest,
        },
      );
    }
    return digest;
  }

  /** Points `tag` at the manifest `digest` and checks the registry agrees the tag now names that digest. */
  async tag(repo: string, tag: string, digest: string): Promise<void> {
    if (!isTag(tag)) {
      throw new GateError('INPUT_INVALID', `"${tag}" is not a valid tag`, { detail: { repo, tag } });
    }
    const manifest = await this.getManifest(repo, digest);
    const pushed = await this.putManifest(repo, tag, manifest.bytes, manifest.mediaType);
    const now = await this.resolve(repo, tag);
    if (pushed !== digest || now.digest !== digest) {
      throw registryError('DIGEST_MISMATCH', `tag ${repo}:${tag} names ${now.digest}, expected ${digest}`, {
        repo,
        tag,
        expected: digest,
        actual: now.digest,
      });
    }
  }

  /**
   * Whether the registry serves the OCI referrers API. Only a yes is remembered:
   * a registry that has the API may still answer 404 for a repository it does not know.
   */
  async hasReferrersApi(repo: string, digest: string): Promise<boolean> {
    if (this.#referrersApi) return true;
    return (await this.getReferrersPage(repo, digest)) !== undefined;
  }

  /**
   * One page of GET /v2/<repo>/referrers/<digest> (distribution spec §Listing
   * Referrers): the index bytes and the `Link: <…>; rel="next"` page, or
   * undefined when the registry has no referrers API (404).
   */
  async getReferrersPage(
    repo: string,
    digest: string,
    page?: URL,
  ): Promise<{ bytes: Uint8Array; next: URL | undefined } | undefined> {
    assertRepositoryName(repo);
    assertDigest(digest, `referrers subject in ${repo}`);
    const first = this.#url(`/v2/${repo}/referrers/${digest}`);
    const url = page ?? first;
    if (url.origin !== first.origin || url.pathname !== first.pathname) {
      throw registryError(
        'REGISTRY_ERROR',
        `referrers ${repo}@${digest}: next page ${url.href} leaves the listing`,
        {
          repo,
        },
      );
    }
    const what = `GET referrers ${repo}@${digest}`;
    const result = await this.#transport.exchange(
      {
        method: 'GET',
        url,
        scope: pull(repo),
        what,
        expect: [200, 404],
        headers: { accept: MEDIA_TYPES.ociIndex },
      },
      async (res) => {
        if (res.status === 404) {
          await res.body?.cancel().catch(() => undefined);
          return undefined;
        }
        const bytes = await readCapped(res, this.limits.maxManifestBytes, what);
        const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
        return { bytes, next: link === undefined ? undefined : new URL(link, url) };
      },
    );
    if (result !== undefined) this.#referrersApi = true;
    return result;
  }

  /** GET a manifest by tag, or undefined when the tag does not exist; the digest is that of the bytes. */
  async getManifestByTag(repo: string, tag: string): Promise<FetchedManifest | undefined> {
    if (!isTag(tag))
      throw new GateError('INPUT_INVALID', `"${tag}" is not a valid tag`, { detail: { repo, tag } });
    try {
      return await this.#fetchManifest(repo, tag);
    } catch (err) {
      if (err instanceof GateError && err.code === 'REGISTRY_ERROR' && err.detail?.status === 404)
        return undefined;
      throw err;
    }
  }

  /**
   * One page of GET /v2/<repo>/tags/list (distribution spec §Listing Tags): at most `n`
   * tags after `last`, and the `last` to ask for the next page (from the `Link` header), if any.
   */
  async listTagsPage(
    repo: string,
    opts: { n: number; last?: string },
  ): Promise<{ tags: string[]; last?: string }> {
    assertRepositoryName(repo);
    const url = this.#url(`/v2/${repo}/tags/list`);
    url.searchParams.set('n', String(opts.n));
    if (opts.last !== undefined) url.searchParams.set('last', opts.last);
    const what = `GET tags ${repo}`;
    const page = await this.#transport.exchange(
      { method: 'GET', url, scope: pull(repo), what, expect: [200] },
      async (res) => {
        const bytes = await readCapped(res, this.limits.maxManifestBytes, what);
        const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
        return { bytes, next: link === undefined ? undefined : new URL(link, url).searchParams.get('last') };
      },
    );
    let tags: unknown;
    try {
      tags = (JSON.parse(Buffer.from(page.bytes).toString('utf8')) as { tags?: unknown }).tags ?? [];
    } catch (cause) {
      throw registryError('REGISTRY_ERROR', `${what}: the body is not JSON`, {
        repo,
        retryable: false,
        cause,
      });
    }
    if (!Array.isArray(tags) || !tags.every((t): t is string => typeof t === 'string' && isTag(t))) {
      throw registryError('REGISTRY_ERROR', `${what}: "tags" is not a list of tags`, {
        repo,
        retryable: false,
      });
    }
    // A page longer than asked for is cut: the caller's bound holds whatever the registry sends.
    return { tags: tags.slice(0, opts.n), ...(page.next ? { last: page.next } : {}) };
  }

  #url(path: string): URL {
    return new URL(path, this.#base);
  }
}

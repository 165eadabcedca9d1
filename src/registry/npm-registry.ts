/**
 * A client for one npm registry (the npm registry API as npm's CLI and Verdaccio speak it):
 * read a version's metadata and tarball, and publish a version with the document
 * `npm publish` sends (PUT /<name>, the tarball as a base64 attachment; npm/registry docs
 * "Package endpoints"), authenticated with the operator's credentials for the host. URLs are built from the configured base URL only: a tarball URL a
 * registry writes in its metadata is never followed, so the staging registry's content
 * cannot point the worker elsewhere.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { MAX_PACKAGE_TARBALL_BYTES, npmIntegrity } from '../core/formats/npm/package-tarball.ts';
import type { CredentialsProvider } from './credentials.ts';
import { readCapped } from './read-capped.ts';
import { registryError } from './registry-error.ts';

/** The largest packument read: one package's metadata, all its versions. */
const MAX_PACKUMENT_BYTES = 16 * 1024 * 1024;
const TIMEOUT_MS = 60_000;

/** What the gate reads of a version's metadata; other fields are the registry's own. */
const VersionSchema = z.looseObject({
  name: z.string(),
  version: z.string(),
  dist: z.looseObject({ integrity: z.string().optional(), shasum: z.string().optional() }),
});
const PackumentSchema = z.looseObject({
  versions: z.record(z.string(), VersionSchema).default({}),
  'dist-tags': z.record(z.string(), z.string()).default({}),
});
export type NpmVersionMetadata = z.infer<typeof VersionSchema>;

/** `@scope/name` as it stands in a registry URL path (`@scope%2fname`). */
export function npmNamePath(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

/** The tarball's file name as npm names it: the name without its scope, dash, version. */
export function npmTarballFile(name: string, version: string): string {
  return `${name.replace(/^@[^/]+\//, '')}-${version}.tgz`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Parses a configured registry URL: https, or http to a loopback host only (the local services). */
export function npmRegistryUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new GateError('CONFIG_INVALID', `npm registry ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw new GateError(
      'CONFIG_INVALID',
      `npm registry ${url.origin}: https, or http to a loopback host only`,
    );
  if (url.search || url.hash || url.username || url.password)
    throw new GateError(
      'CONFIG_INVALID',
      `npm registry ${url.origin}: no query, fragment or credentials in the URL`,
    );
  return new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
}

export class NpmRegistryClient {
  readonly base: URL;
  readonly #credentials: CredentialsProvider;

  constructor(base: URL, credentials: CredentialsProvider) {
    this.base = base;
    this.#credentials = credentials;
  }

  /** `host[:port]`, as requests and policies name the registry. */
  get host(): string {
    return this.base.host;
  }

  async #fetch(path: string, init: RequestInit, what: string): Promise<Response> {
    const url = new URL(path, this.base);
    try {
      return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw registryError(
        'REGISTRY_UNAVAILABLE',
        `${what}: ${this.host} did not answer`,
        { url: url.href },
        err,
      );
    }
  }

  #failed(res: Response, what: string): GateError {
    const code =
      res.status === 401 || res.status === 403
        ? 'REGISTRY_AUTH'
        : res.status >= 500
          ? 'REGISTRY_UNAVAILABLE'
          : 'REGISTRY_ERROR';
    return registryError(code, `${what}: ${this.host} answered ${res.status}`, { status: res.status });
  }

  /** Every version's metadata and the dist-tags; undefined when the registry has no such package. */
  async packument(name: string): Promise<z.infer<typeof PackumentSchema> | undefined> {
    const what = `metadata of ${name}`;
    const res = await this.#fetch(npmNamePath(name), { headers: await this.#headers() }, what);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.#failed(res, what);
    }
    const bytes = await readCapped(res, MAX_PACKUMENT_BYTES, what);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      throw registryError('REGISTRY_ERROR', `${what}: ${this.host} answered with something not JSON`, {});
    }
    const parsed = PackumentSchema.safeParse(json);
    if (!parsed.success)
      throw registryError(
        'REGISTRY_ERROR',
        `${what}: ${this.host} answered with no npm package document`,
        {},
      );
    return parsed.data;
  }

  /** The tarball of `name@version`, from the registry's standard path (never a URL from its metadata). */
  async tarball(name: string, version: string): Promise<Uint8Array> {
    const what = `tarball of ${name}@${version}`;
    const path = `${npmNamePath(name)}/-/${encodeURIComponent(npmTarballFile(name, version))}`;
    const res = await this.#fetch(path, { headers: await this.#headers() }, what);
    if (res.status === 404) {
      await res.body?.cancel();
      throw registryError('REGISTRY_ERROR', `${what}: not on ${this.host}`, { status: 404 });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.#failed(res, what);
    }
    return await readCapped(res, MAX_PACKAGE_TARBALL_BYTES, what);
  }

  /**
   * Publishes one version exactly as given: `manifest` is the tarball's package.json, the
   * tarball bytes travel unchanged, so the registry's `integrity` is the verified sha512.
   */
  async publish(input: {
    manifest: Record<string, unknown>;
    name: string;
    version: string;
    tarball: Uint8Array;
    sha512: string;
    /** The dist-tags to set (`npm publish --tag`): each names a version. */
    distTags: Record<string, string>;
  }): Promise<void> {
    const what = `publish of ${input.name}@${input.version}`;
    const file = npmTarballFile(input.name, input.version);
    const body = {
      _id: input.name,
      name: input.name,
      'dist-tags': input.distTags,
      versions: {
        [input.version]: {
          ...input.manifest,
          _id: `${input.name}@${input.version}`,
          name: input.name,
          version: input.version,
          dist: {
            integrity: npmIntegrity(input.sha512),
            // npm's legacy `shasum`: the tarball's SHA-1, which old clients still check.
            shasum: createHash('sha1').update(input.tarball).digest('hex'),
            tarball: new URL(`${npmNamePath(input.name)}/-/${encodeURIComponent(file)}`, this.base).href,
          },
        },
      },
      _attachments: {
        [file]: {
          content_type: 'application/octet-stream',
          data: Buffer.from(input.tarball).toString('base64'),
          length: input.tarball.length,
        },
      },
    };
    const res = await this.#fetch(
      npmNamePath(input.name),
      {
        method: 'PUT',
        headers: { ...(await this.#headers(true)), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      what,
    );
    await res.body?.cancel();
    if (!res.ok) throw this.#failed(res, what);
  }

  /**
   * Authorization for this host: HTTP Basic with the configured credentials, as npm sends
   * `_auth` (Verdaccio's htpasswd users log in this way; a token login of an existing user
   * is a registration there, refused when registration is off).
   */
  async #headers(required = false): Promise<Record<string, string>> {
    const credentials = await this.#credentials(this.host);
    if (credentials === undefined) {
      if (required)
        throw registryError(
          'REGISTRY_AUTH',
          `no credentials are configured for npm registry ${this.host}`,
          {},
        );
      return {};
    }
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    return { authorization: `Basic ${basic}` };
  }
}

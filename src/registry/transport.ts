import { setTimeout as sleep } from 'node:timers/promises';
import { isGateError } from '../core/errors.ts';
import { parseChallenges, scopeStrings, type AuthScope, type RegistryAuth } from './auth.ts';
import { readCapped } from './read-capped.ts';
import { registryError, withoutQuery } from './registry-error.ts';

/** How the client retries transient failures (network errors, 429, 5xx). */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out: the call fails as retryable for the caller to reschedule. */
  maxRetryAfterMs: number;
}

/** Five attempts, 200 ms doubling to 5 s with jitter, Retry-After waited out up to 30 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
};

/** One HTTP exchange with the registry. */
export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  url: URL;
  scope: AuthScope;
  /** Statuses handed to the handler; anything else becomes a coded error. */
  expect: readonly number[];
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Names the operation in errors (`GET manifest repo@digest`). */
  what: string;
}

/** What a Transport needs: the auth hook, retry policy, timeout and the plain-http loopback hosts. */
export interface TransportOptions {
  auth: RegistryAuth;
  retry: RetryPolicy;
  /** Per-attempt timeout, covering headers and body. */
  timeoutMs: number;
  /** `host[:port]` allowed over plain http (loopback only). */
  insecureHosts: ReadonlySet<string>;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;
// OpenSSL verification failures as Node reports them (node:tls, X509_V_ERR_*).
const TLS_VERIFY_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const ERROR_BODY_LIMIT = 4096;

/**
 * Sends requests with authentication, bounded retries and manual redirects.
 * Redirects are followed by hand so a redirect can never downgrade to plain
 * http or carry the registry's Authorization header to another origin.
 */
export class Transport {
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  /** Runs `handle` on the response; retries the whole exchange (request and body) on transient failures. */
  async exchange<T>(req: RegistryRequest, handle: (res: Response) => Promise<T>): Promise<T> {
    const { retry } = this.#options;
    for (let attempt = 1; ; attempt++) {
      let delayMs: number;
      try {
        const res = await this.#sendAuthenticated(req);
        if (req.expect.includes(res.status)) return await handle(res);
        throw await statusError(req, res);
      } catch (err) {
        if (!isGateError(err)) throw err;
        if (!err.retryable || attempt >= retry.maxAttempts || this.#options.signal?.aborted) {
          throw err;
        }
        const retryAfterMs = err.detail?.retryAfterMs;
        if (typeof retryAfterMs === 'number') {
          if (retryAfterMs > retry.maxRetryAfterMs) throw err;
          delayMs = retryAfterMs;
        } else {
          const backoff = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
          delayMs = backoff / 2 + Math.random() * (backoff / 2);
        }
      }
      await sleep(delayMs, undefined, this.#options.signal ? { signal: this.#options.signal } : undefined);
    }
  }

  async #sendAuthenticated(req: RegistryRequest): Promise<Response> {
    const { auth } = this.#options;
    let authorization = await auth.authorization(req.scope);
    let res = await this.#sendFollowingRedirects(req, authorization);
    if (res.status !== 401) return res;
    // distribution spec §Authentication: answer the challenge once, then give up.
    const challenge = res.headers.get('www-authenticate');
    await res.body?.cancel().catch(() => undefined);
    const answer = challenge === null ? undefined : await auth.challenge(challenge, req.scope);
    if (answer === undefined || answer === authorization) {
      throw registryError(
        'REGISTRY_AUTH',
        answer === undefined
          ? `${req.what}: registry requires credentials we do not have (401)`
          : `${req.what}: credentials rejected (401)`,
        {
          status: 401,
          url: withoutQuery(req.url),
          challenge,
        },
      );
    }
    authorization = answer;
    res = await this.#sendFollowingRedirects(req, authorization);
    if (res.status === 401) {
      await res.body?.cancel().catch(() => undefined);
      // RFC 6750 §3.1: insufficient_scope means authenticated, but not allowed this action.
      const again = parseChallenges(res.headers.get('www-authenticate') ?? '');
      const reason = again.find((c) => c.params.error !== undefined)?.params.error;
      const scopes = scopeStrings(req.scope).join(' ');
      throw registryError(
        'REGISTRY_AUTH',
        reason === 'insufficient_scope'
          ? `${req.what}: credentials lack the scope ${scopes}`
          : `${req.what}: credentials rejected (401${reason === undefined ? '' : `, ${reason}`})`,
        { status: 401, url: withoutQuery(req.url), scope: scopes, reason },
      );
    }
    return res;
  }

  async #sendFollowingRedirects(req: RegistryRequest, authorization: string | undefined): Promise<Response> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      this.#checkTransport(url, req.what);
      const headers: Record<string, string> = { ...req.headers };
      if (authorization !== undefined && url.origin === req.url.origin) headers.authorization = authorization;
      const res = await this.#fetchOnce(url, method, headers, body, req.what);
      const location = res.headers.get('location');
      if (
        ![301, 302, 303, 307, 308].includes(res.status) ||
        location === null ||
        req.expect.includes(res.status)
      ) {
        return res;
      }
      await res.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw registryError('REGISTRY_ERROR', `${req.what}: more than ${MAX_REDIRECTS} redirects`, {
          url: withoutQuery(req.url),
        });
      }
      url = new URL(location, url);
      // RFC 9110 §15.4: 303 (and 301/302 after POST) continue as GET without a body.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
    }
  }

  #checkTransport(url: URL, what: string): void {
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && this.#options.insecureHosts.has(url.host)) return;
    throw registryError(
      'REGISTRY_ERROR',
      `${what}: refusing ${url.protocol} to ${url.host} (not an insecure loopback host)`,
      {
        url: withoutQuery(url),
      },
    );
  }

  async #fetchOnce(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    what: string,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = this.#options.signal ? AbortSignal.any([this.#options.signal, timeout]) : timeout;
    try {
      return await fetch(url, {
        method,
        headers,
        redirect: 'manual',
        signal,
        ...(body === undefined ? {} : { body }),
      });
    } catch (err) {
      const cancelled = this.#options.signal?.aborted === true;
      const code = (err as { cause?: { code?: unknown } }).cause?.code;
      // A certificate we do not trust stays untrusted: retrying would only loop.
      if (typeof code === 'string' && TLS_VERIFY_CODES.has(code)) {
        throw registryError(
          'REGISTRY_ERROR',
          `${what}: TLS certificate of ${url.host} not trusted (${code}); add its CA with NODE_EXTRA_CA_CERTS`,
          { url: withoutQuery(url), tls: code },
          err,
        );
      }
      // Cancelled by the caller: asking again would only be cancelled again.
      throw registryError(
        cancelled ? 'REGISTRY_ERROR' : 'REGISTRY_UNAVAILABLE',
        `${what}: ${cancelled ? 'cancelled' : 'network error'} talking to ${url.host}: ${(err as Error).message}`,
        {
          url: withoutQuery(url),
          ...(typeof code === 'string' ? { cause: code } : {}),
        },
        err,
      );
    }
  }
}

/** Maps an unexpected status to a coded error (distribution spec §Error Codes), reading a bounded error body. */
async function statusError(req: RegistryRequest, res: Response) {
  let registryErrors: unknown;
  try {
    const text = new TextDecoder().decode(await readCapped(res, ERROR_BODY_LIMIT, req.what));
    registryErrors = text === '' ? undefined : (JSON.parse(text) as { errors?: unknown }).errors;
  } catch {
    registryErrors = undefined;
  }
  const status = res.status;
  const detail = { status, url: withoutQuery(req.url), registryErrors };
  if (status === 401 || status === 403) {
    return registryError('REGISTRY_AUTH', `${req.what}: access denied (${status})`, {
      ...detail,
    });
  }
  if (status === 429 || (status >= 500 && status !== 501 && status !== 505)) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    return registryError('REGISTRY_UNAVAILABLE', `${req.what}: registry answered ${status}`, {
      ...detail,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  return registryError('REGISTRY_ERROR', `${req.what}: registry answered ${status}`, {
    ...detail,
  });
}

/** RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

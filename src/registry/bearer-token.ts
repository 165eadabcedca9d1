import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { IDENTITY_TOKEN_USERNAME, type Credentials } from './credentials.ts';
import { readCapped } from './read-capped.ts';
import { registryError, withoutQuery } from './registry-error.ts';

/**
 * The distribution token flow (distribution/docs/spec/auth/token.md): after a
 * `Bearer realm=…,service=…,scope=…` challenge, GET the realm with the service
 * and scopes, authenticating with Basic credentials when we have them.
 */

// token.md §Token Response Fields: `token`, or its OAuth2 alias `access_token`.
const tokenResponseSchema = z.looseObject({
  token: z.string().min(1).optional(),
  access_token: z.string().min(1).optional(),
  expires_in: z.number().int().positive().optional(),
});

/** A bearer token and when to stop using it (epoch milliseconds). */
export interface BearerToken {
  token: string;
  expiresAt: number;
}

/** What a token request needs. */
export interface TokenRequest {
  realm: URL;
  service: string | undefined;
  scopes: readonly string[];
  credentials: Credentials | undefined;
  timeoutMs: number;
  now: number;
}

const TOKEN_RESPONSE_LIMIT = 64 * 1024;
// token.md: "If omitted, the token lifetime defaults to 60 seconds."
const DEFAULT_LIFETIME_S = 60;

/**
 * The token request: GET with Basic credentials (token.md), or, for an identity
 * token, the OAuth2 refresh-token grant POSTed to the realm (oauth.md).
 */
function tokenRequestInit(url: URL, req: TokenRequest): RequestInit {
  if (req.credentials?.username === IDENTITY_TOKEN_USERNAME) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'slsa-gate' });
    if (req.service !== undefined) form.set('service', req.service);
    form.set('scope', req.scopes.join(' '));
    form.set('refresh_token', req.credentials.password);
    return {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    };
  }
  if (req.service !== undefined) url.searchParams.set('service', req.service);
  for (const scope of req.scopes) url.searchParams.append('scope', scope);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.credentials !== undefined) {
    const basic = Buffer.from(`${req.credentials.username}:${req.credentials.password}`).toString('base64');
    headers.authorization = `Basic ${basic}`;
  }
  return { method: 'GET', headers };
}

/** Fetches a token; bad credentials are REGISTRY_AUTH, an unreachable or overloaded endpoint is REGISTRY_UNAVAILABLE. */
export async function fetchBearerToken(req: TokenRequest): Promise<BearerToken> {
  const url = new URL(req.realm);
  const what = `token request to ${url.host}${url.pathname} for ${req.scopes.join(' ')}`;
  const init = tokenRequestInit(url, req);
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(req.timeoutMs) });
  } catch (cause) {
    throw registryError('REGISTRY_UNAVAILABLE', `${what}: network error`, { url: withoutQuery(url) }, cause);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel().catch(() => undefined);
    throw registryError('REGISTRY_AUTH', `${what}: credentials rejected (${res.status})`, {
      url: withoutQuery(url),
      status: res.status,
    });
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    const overloaded = res.status === 429 || res.status >= 500;
    throw registryError(
      overloaded ? 'REGISTRY_UNAVAILABLE' : 'REGISTRY_ERROR',
      `${what}: token endpoint answered ${res.status}`,
      { url: withoutQuery(url), status: res.status },
    );
  }
  const body = await readCapped(res, TOKEN_RESPONSE_LIMIT, what);
  let parsed: z.infer<typeof tokenResponseSchema>;
  try {
    parsed = tokenResponseSchema.parse(JSON.parse(new TextDecoder().decode(body)));
  } catch (cause) {
    throw new GateError('REGISTRY_AUTH', `${what}: malformed token response`, {
      cause,
      detail: { url: withoutQuery(url) },
    });
  }
  const token = parsed.token ?? parsed.access_token;
  if (token === undefined) {
    throw new GateError('REGISTRY_AUTH', `${what}: token response has no token`, {
      detail: { url: withoutQuery(url) },
    });
  }
  const lifetimeMs = (parsed.expires_in ?? DEFAULT_LIFETIME_S) * 1000;
  // Renew a little early so a token does not expire in flight.
  return { token, expiresAt: req.now + lifetimeMs - Math.min(30_000, lifetimeMs / 10) };
}

/**
 * OIDC ID token verification for the API: a token is accepted only when its
 * signature verifies under a key from the configured issuer's JWKS (found through the
 * issuer's discovery document), its `iss` is exactly the issuer, its `aud` names our
 * audience, and `exp`/`nbf` hold within a bounded clock skew. Everything else, the header
 * included, is attacker-chosen: `alg` must be one we allow *and* fit the key type of the
 * JWK with that `kid` (RFC 8725 §3.1: no `none`, no HMAC with a public key as the secret).
 *
 * Keys are cached per issuer; an unknown `kid` refetches the JWKS (key rotation), at most
 * once per REFETCH_INTERVAL_MS so that junk `kid`s cannot make us hammer the issuer.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import * as z from 'zod';

/** Signature algorithms accepted: asymmetric only (RFC 7518 §3.1), each tied to its key type. */
const ALGORITHMS = {
  RS256: { kty: 'RSA', hash: 'sha256', curve: undefined },
  ES256: { kty: 'EC', hash: 'sha256', curve: 'P-256' },
} as const;
type Algorithm = keyof typeof ALGORITHMS;

/** One trusted issuer, as the operator configures it. */
export const OidcIssuerSchema = z.strictObject({
  /** The exact `iss` value, e.g. `https://token.actions.githubusercontent.com`. */
  issuer: z.url(),
  /** The `aud` our tokens must carry (GitHub Actions: the `audience` asked of the token endpoint). */
  audience: z.string().min(1).max(256),
  /** How claims map to an identity: GitHub Actions (repository, workflow_ref, ref) or a person (email). */
  claims: z.enum(['github-actions', 'generic']),
  /** Tolerated clock difference for `exp`, `nbf` and `iat` (at most five minutes). */
  clockSkewSeconds: z.number().int().min(0).max(300).default(60),
});
export type OidcIssuerConfig = z.input<typeof OidcIssuerSchema>;

/** A verified OIDC identity: who the issuer says the bearer is. */
export interface OidcIdentity {
  kind: 'oidc';
  issuer: string;
  subject: string;
  /** Stable key for comparing identities (two-person rule): issuer and subject. */
  id: string;
  /** For display and grants: email for people, `repository` for GitHub Actions. */
  name: string;
  /** The verified claims grants may match on (strings only). */
  claims: Record<string, string>;
  /** GitHub Actions: the repository (`owner/name`) whose workflow asked. */
  repository?: string;
  /** GitHub Actions: `repository_id` and `repository_owner_id`, stable across renames, transfers and branches. */
  repositoryId?: string;
  repositoryOwnerId?: string;
  workflowRef?: string;
  ref?: string;
  email?: string;
}

/** Why a token was refused (for logs; the client always gets one uniform 401). */
export class OidcRejection extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'OidcRejection';
  }
}

/** An unexpected failure to reach an issuer (the token may be fine: a 503, not a 401). */
export class OidcIssuerUnavailable extends Error {
  constructor(issuer: string, cause: unknown) {
    super(`issuer ${issuer} could not be reached`, { cause });
    this.name = 'OidcIssuerUnavailable';
  }
}

/** A fixed number of slots for checks waiting on an issuer's keys (the API's `verifying` pool). */
export interface KeyFetchSlots {
  tryTake(): boolean;
  release(): void;
}

const MAX_TOKEN_BYTES = 16 * 1024;
const MAX_DOCUMENT_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 5000;
const KEYS_TTL_MS = 10 * 60 * 1000;
const REFETCH_INTERVAL_MS = 30 * 1000;

const JwtHeaderSchema = z.looseObject({ alg: z.string(), kid: z.string().min(1).max(256).optional() });
const NumericDate = z.number().finite();
const JwtClaimsSchema = z.looseObject({
  iss: z.string(),
  sub: z.string().min(1).max(1024),
  aud: z.union([z.string(), z.array(z.string()).max(32)]),
  exp: NumericDate,
  nbf: NumericDate.optional(),
  iat: NumericDate.optional(),
});
// OpenID Connect Discovery 1.0 §3 and RFC 7517 §5: upstream formats, unknown fields ignored.
const DiscoverySchema = z.looseObject({ issuer: z.string(), jwks_uri: z.url() });
const JwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string().optional(),
  alg: z.string().optional(),
  use: z.string().optional(),
  crv: z.string().optional(),
});
const JwksSchema = z.looseObject({ keys: z.array(JwkSchema).max(100) });

interface CachedKey {
  kid: string | undefined;
  kty: string;
  alg: string | undefined;
  crv: string | undefined;
  key: KeyObject;
}

/** Verifies ID tokens from a set of configured issuers. */
export class OidcVerifier {
  private readonly issuers: Map<string, z.output<typeof OidcIssuerSchema>>;
  private readonly keys = new Map<string, { keys: CachedKey[]; fetchedAt: number }>();
  private readonly inflight = new Map<string, Promise<CachedKey[]>>();
  private readonly now: () => number;

  constructor(issuers: OidcIssuerConfig[], options: { now?: () => number } = {}) {
    this.issuers = new Map(issuers.map((i) => OidcIssuerSchema.parse(i)).map((i) => [i.issuer, i]));
    this.now = options.now ?? Date.now;
  }

  /** Whether a bearer value has the shape of a JWT (three base64url parts). */
  static looksLikeJwt(token: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
  }

  /**
   * The identity of a valid ID token; OidcRejection when it is not one; OidcIssuerUnavailable
   * on an outage. A check that must wait on the issuer for its keys holds one of `keyFetchSlots`
   * while it waits, and is an outage at once when none is free: checks that wait on a slow
   * issuer never hold up the ones that need no fetch.
   */
  async verify(token: string, keyFetchSlots?: KeyFetchSlots): Promise<OidcIdentity> {
    if (token.length > MAX_TOKEN_BYTES) throw new OidcRejection('token too large');
    const parts = token.split('.');
    if (parts.length !== 3) throw new OidcRejection('not a compact JWS');
    const [headerB64, payloadB64, signatureB64] = parts as [string, string, string];
    const header = JwtHeaderSchema.safeParse(decodeJson(headerB64));
    if (!header.success) throw new OidcRejection('malformed header');
    const { alg, kid } = header.data;
    if (!(alg in ALGORITHMS)) throw new OidcRejection(`algorithm ${alg} is not accepted`);
    const algorithm = ALGORITHMS[alg as Algorithm];
    const claims = JwtClaimsSchema.safeParse(decodeJson(payloadB64));
    if (!claims.success) throw new OidcRejection('malformed claims');
    // The issuer is chosen by name before any key is fetched: only configured issuers are asked.
    const issuer = this.issuers.get(claims.data.iss);
    if (!issuer) throw new OidcRejection('issuer not trusted');

    const key = await this.keyFor(issuer.issuer, kid, alg as Algorithm, keyFetchSlots);
    const signature = Buffer.from(signatureB64, 'base64url');
    const signed = Buffer.from(`${headerB64}.${payloadB64}`, 'ascii');
    const valid = verifySignature(
      algorithm.hash,
      signed,
      algorithm.kty === 'EC' ? { key: key.key, dsaEncoding: 'ieee-p1363' } : key.key,
      signature,
    );
    if (!valid) throw new OidcRejection('signature does not verify');

    const c = claims.data;
    const audiences = typeof c.aud === 'string' ? [c.aud] : c.aud;
    if (!audiences.includes(issuer.audience)) throw new OidcRejection('audience mismatch');
    const now = this.now() / 1000;
    const skew = issuer.clockSkewSeconds;
    if (c.exp + skew <= now) throw new OidcRejection('token expired');
    if (c.nbf !== undefined && c.nbf - skew > now) throw new OidcRejection('token not yet valid');
    if (c.iat !== undefined && c.iat - skew > now) throw new OidcRejection('token issued in the future');
    return identityOf(issuer, c);
  }

  /** The key with this `kid` that fits `alg`; refetches the JWKS once when it is unknown. */
  private async keyFor(
    issuer: string,
    kid: string | undefined,
    alg: Algorithm,
    keyFetchSlots: KeyFetchSlots | undefined,
  ): Promise<CachedKey> {
    const pick = (keys: CachedKey[]) => {
      const { kty, curve } = ALGORITHMS[alg];
      const fitting = keys.filter(
        (k) =>
          k.kty === kty &&
          (k.alg === undefined || k.alg === alg) &&
          (curve === undefined || k.crv === curve) &&
          (kid === undefined || k.kid === kid),
      );
      // Without a kid only an unambiguous key set is usable.
      if (kid === undefined) return fitting.length === 1 ? fitting[0] : undefined;
      return fitting[0];
    };
    const cached = this.keys.get(issuer);
    const fresh = cached !== undefined && this.now() - cached.fetchedAt < KEYS_TTL_MS;
    const found = cached ? pick(cached.keys) : undefined;
    if (found && fresh) return found;
    if (cached && fresh && this.now() - cached.fetchedAt < REFETCH_INTERVAL_MS)
      throw new OidcRejection('no key with this kid');
    if (keyFetchSlots && !keyFetchSlots.tryTake())
      throw new OidcIssuerUnavailable(issuer, new Error('every check waiting on an issuer is taken'));
    let keys: CachedKey[];
    try {
      keys = await this.fetchKeys(issuer);
    } finally {
      keyFetchSlots?.release();
    }
    const refetched = pick(keys);
    if (!refetched) throw new OidcRejection('no key with this kid');
    return refetched;
  }

  private fetchKeys(issuer: string): Promise<CachedKey[]> {
    let pending = this.inflight.get(issuer);
    if (!pending) {
      pending = this.loadKeys(issuer).finally(() => this.inflight.delete(issuer));
      this.inflight.set(issuer, pending);
    }
    return pending;
  }

  private async loadKeys(issuer: string): Promise<CachedKey[]> {
    let discovery: z.output<typeof DiscoverySchema>;
    let jwks: z.output<typeof JwksSchema>;
    try {
      const base = issuer.replace(/\/$/, '');
      discovery = DiscoverySchema.parse(await fetchJson(`${base}/.well-known/openid-configuration`));
      // OIDC Discovery §4.3: the document's issuer must be the one we asked.
      if (discovery.issuer !== issuer) throw new Error(`discovery names issuer ${discovery.issuer}`);
      requireSecureUrl(discovery.jwks_uri);
      jwks = JwksSchema.parse(await fetchJson(discovery.jwks_uri));
    } catch (cause) {
      throw new OidcIssuerUnavailable(issuer, cause);
    }
    const keys: CachedKey[] = [];
    for (const jwk of jwks.keys) {
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      try {
        const key = createPublicKey({ key: jwk as never, format: 'jwk' });
        if (key.type !== 'public') continue;
        keys.push({ kid: jwk.kid, kty: jwk.kty, alg: jwk.alg, crv: jwk.crv, key });
      } catch {
        // A key we cannot use (unknown kty, private material) is skipped, never trusted.
      }
    }
    this.keys.set(issuer, { keys, fetchedAt: this.now() });
    return keys;
  }
}

/** Issuers are reached over https; plain http only on loopback (tests, a local issuer). */
function requireSecureUrl(url: string): void {
  const u = new URL(url);
  const loopback = u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost';
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback))
    throw new Error(`${url} is not https`);
}

async function fetchJson(url: string): Promise<unknown> {
  requireSecureUrl(url);
  const response = await fetch(url, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    redirect: 'error',
    headers: { Accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new Error(`${url}: document too large`);
  return JSON.parse(text);
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function identityOf(
  issuer: z.output<typeof OidcIssuerSchema>,
  c: z.output<typeof JwtClaimsSchema>,
): OidcIdentity {
  const claims: Record<string, string> = {};
  for (const [k, v] of Object.entries(c)) if (typeof v === 'string' && v.length <= 1024) claims[k] = v;
  // An unverified email is the account holder's typing: it names no one (OIDC Core §5.1).
  if (c.email_verified !== true) delete claims.email;
  const base = {
    kind: 'oidc' as const,
    issuer: issuer.issuer,
    subject: c.sub,
    id: `${issuer.issuer}#${c.sub}`,
  };
  if (issuer.claims === 'github-actions') {
    // GitHub Actions OIDC: `repository`, `workflow_ref` and `ref` describe the run that asked;
    // `repository_id` and `repository_owner_id` name the repository and its owner for good
    // (GitHub always issues them; a token without them cannot be compared, so it is refused).
    const repository = claims.repository;
    if (!repository) throw new OidcRejection('GitHub Actions token without a repository claim');
    const repositoryId = claims.repository_id ?? '';
    const repositoryOwnerId = claims.repository_owner_id ?? '';
    const numeric = /^[0-9]{1,20}$/;
    if (!numeric.test(repositoryId) || !numeric.test(repositoryOwnerId))
      throw new OidcRejection('GitHub Actions token without numeric repository_id and repository_owner_id');
    return {
      ...base,
      name: repository,
      claims,
      repository,
      repositoryId,
      repositoryOwnerId,
      ...(claims.workflow_ref ? { workflowRef: claims.workflow_ref } : {}),
      ...(claims.ref ? { ref: claims.ref } : {}),
    };
  }
  // A person: the email only when the issuer says it is verified.
  const email = c.email_verified === true && typeof c.email === 'string' ? c.email : undefined;
  return { ...base, name: email ?? c.sub, claims, ...(email ? { email } : {}) };
}

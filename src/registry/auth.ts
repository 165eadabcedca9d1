import { GateError } from '../core/errors.ts';
import { fetchBearerToken, type BearerToken } from './bearer-token.ts';
import { IDENTITY_TOKEN_USERNAME, type CredentialsProvider } from './credentials.ts';

/**
 * Authentication hook of the registry client. The distribution spec leaves
 * authentication to a challenge (401 + WWW-Authenticate); this interface lets the
 * client stay ignorant of the scheme. ChallengeAuth answers Basic and Bearer;
 * other schemes (cloud IAM helpers, KMS-backed tokens) plug in behind the same interface.
 */

/** What a request needs access to (distribution token scope `repository:<name>:<actions>`). */
export interface AuthScope {
  repository: string;
  actions: ReadonlyArray<'pull' | 'push'>;
  /** A cross-repository mount also needs pull on the source repository. */
  mountFrom?: string;
}

/** The hook the client calls around each request. */
export interface RegistryAuth {
  /** The Authorization header value to send before any challenge, if one is already known. */
  authorization(scope: AuthScope): Promise<string | undefined>;
  /** Answers a 401 challenge; returns the header to retry with, or undefined when it has nothing to offer. */
  challenge(wwwAuthenticate: string, scope: AuthScope): Promise<string | undefined>;
}

/** Anonymous access: never sends credentials. */
export const anonymousAuth: RegistryAuth = {
  authorization: () => Promise.resolve(undefined),
  challenge: () => Promise.resolve(undefined),
};

/** One challenge of a WWW-Authenticate header (RFC 7235 §4.1): scheme and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header value into its challenges (schemes lowercased). */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    skip(/[^\s,="]/);
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') break;
    skip(/\s/);
    if (header[i] !== '=') {
      challenges.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(/\s/);
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\') i++;
        value += header[i] ?? '';
        i++;
      }
      i++;
    } else {
      value = token();
    }
    const current = challenges.at(-1);
    if (current !== undefined) current.params[name.toLowerCase()] = value;
  }
  return challenges;
}

/** The token scopes a request needs (distribution token scope grammar `repository:<name>:<actions>`). */
export function scopeStrings(scope: AuthScope): string[] {
  const scopes = [`repository:${scope.repository}:${scope.actions.join(',')}`];
  if (scope.mountFrom !== undefined) scopes.push(`repository:${scope.mountFrom}:pull`);
  return scopes;
}

/** True when one of `scopes` grants every action `wanted` asks for on the same resource. */
function covers(scopes: readonly string[], wanted: string): boolean {
  const cut = wanted.lastIndexOf(':');
  const resource = wanted.slice(0, cut);
  const actions = wanted.slice(cut + 1).split(',');
  return scopes.some((s) => {
    const c = s.lastIndexOf(':');
    const have = s.slice(c + 1).split(',');
    return s.slice(0, c) === resource && actions.every((a) => have.includes(a));
  });
}

/** Options of ChallengeAuth. */
export interface ChallengeAuthOptions {
  /** Hosts whose token realm may be plain http (loopback only, as for the registry). */
  insecureHosts?: ReadonlySet<string>;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Answers the registry's challenges (distribution spec §Authentication):
 * Basic with the provider's credentials, sent up front once asked for; Bearer
 * through the token endpoint, one token per scope, renewed before it expires
 * and refetched when the registry rejects it.
 */
export class ChallengeAuth implements RegistryAuth {
  readonly #host: string;
  readonly #credentials: CredentialsProvider;
  readonly #options: ChallengeAuthOptions;
  readonly #tokens = new Map<string, BearerToken>();
  #basic: string | undefined;

  constructor(host: string, credentials: CredentialsProvider, options: ChallengeAuthOptions = {}) {
    this.#host = host;
    this.#credentials = credentials;
    this.#options = options;
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  authorization(scope: AuthScope): Promise<string | undefined> {
    if (this.#basic !== undefined) return Promise.resolve(this.#basic);
    const token = this.#tokens.get(scopeStrings(scope).join(' '));
    return Promise.resolve(
      token !== undefined && token.expiresAt > this.#now() ? `Bearer ${token.token}` : undefined,
    );
  }

  async challenge(wwwAuthenticate: string, scope: AuthScope): Promise<string | undefined> {
    const challenges = parseChallenges(wwwAuthenticate);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined) return this.#bearer(bearer, scope);
    if (challenges.some((c) => c.scheme === 'basic')) {
      const creds = await this.#credentials(this.#host);
      // An identity token is only good for the token endpoint, never as a Basic password.
      if (creds === undefined || creds.username === IDENTITY_TOKEN_USERNAME) return undefined;
      this.#basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return this.#basic;
    }
    return undefined;
  }

  async #bearer(challenge: Challenge, scope: AuthScope): Promise<string> {
    const realm = this.#realm(challenge);
    const scopes = scopeStrings(scope);
    // The registry names the scope it wants; ask for it too unless ours already covers it.
    const asked = (challenge.params.scope ?? '').split(' ').filter((s) => s !== '' && !covers(scopes, s));
    const all = [...scopes, ...asked];
    const token = await fetchBearerToken({
      realm,
      service: challenge.params.service,
      scopes: all,
      credentials: await this.#credentials(this.#host),
      timeoutMs: this.#options.timeoutMs ?? 30_000,
      now: this.#now(),
    });
    this.#tokens.set(scopes.join(' '), token);
    return `Bearer ${token.token}`;
  }

  #realm(challenge: Challenge): URL {
    const fail = (why: string) =>
      new GateError('REGISTRY_AUTH', `registry ${this.#host}: Bearer challenge ${why}`, {
        detail: { host: this.#host, realm: challenge.params.realm },
      });
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw fail('has no valid realm URL');
    }
    if (realm.protocol === 'https:') return realm;
    if (realm.protocol === 'http:' && this.#options.insecureHosts?.has(realm.host)) return realm;
    throw fail(`realm ${realm.href} is not https (nor an insecure loopback host)`);
  }
}

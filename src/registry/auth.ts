import { GateError } from '../core/errors.ts';

/**
 * Authentication hook of the registry client. The distribution spec leaves
 * authentication to a challenge (401 + WWW-Authenticate); this interface lets the
 * client stay ignorant of the scheme. Basic is implemented here; the Bearer token
 * flow (issue 7) plugs in behind the same interface.
 */

/** What a request needs access to (distribution token scope `repository:<name>:<actions>`). */
export interface AuthScope {
  repository: string;
  actions: ReadonlyArray<'pull' | 'push'>;
  /** A cross-repository mount also needs pull on the source repository. */
  mountFrom?: string;
}

/** A username and password (or token as password) for one registry host. */
export interface Credentials {
  username: string;
  password: string;
}

/** Looks up credentials for a registry host (`host[:port]`); undefined means anonymous. */
export type CredentialsProvider = (host: string) => Promise<Credentials | undefined>;

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

/** A provider holding fixed credentials per host, for configuration and tests. */
export function staticCredentials(byHost: Record<string, Credentials>): CredentialsProvider {
  return (host) => Promise.resolve(byHost[host]);
}

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

/**
 * Answers Basic challenges with credentials from a provider, and sends them up
 * front once the registry has asked for them (saves a round trip per request).
 */
export class ChallengeAuth implements RegistryAuth {
  readonly #host: string;
  readonly #credentials: CredentialsProvider;
  #basic: string | undefined;

  constructor(host: string, credentials: CredentialsProvider) {
    this.#host = host;
    this.#credentials = credentials;
  }

  authorization(_scope: AuthScope): Promise<string | undefined> {
    return Promise.resolve(this.#basic);
  }

  async challenge(wwwAuthenticate: string, _scope: AuthScope): Promise<string | undefined> {
    const challenges = parseChallenges(wwwAuthenticate);
    if (challenges.some((c) => c.scheme === 'basic')) {
      const creds = await this.#credentials(this.#host);
      if (creds === undefined) return undefined;
      this.#basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return this.#basic;
    }
    if (challenges.some((c) => c.scheme === 'bearer')) {
      throw new GateError(
        'REGISTRY_AUTH',
        `registry ${this.#host} asks for Bearer tokens, not supported yet`,
        {
          detail: { host: this.#host, challenge: wwwAuthenticate, retryable: false },
        },
      );
    }
    return undefined;
  }
}

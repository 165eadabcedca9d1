import { GateError } from '../core/errors.ts';

/** A username and password for one registry host. */
export interface Credentials {
  /** `<token>` marks `password` as an OAuth2 refresh (identity) token, as Docker's credential helpers do. */
  username: string;
  password: string;
}

/** Docker's marker for an identity token in place of a username. */
export const IDENTITY_TOKEN_USERNAME = '<token>';

/** Looks up credentials for a registry host (`host[:port]`); undefined means anonymous. */
export type CredentialsProvider = (host: string) => Promise<Credentials | undefined>;

/** A provider holding fixed credentials per host (explicit configuration, tests). */
export function staticCredentials(byHost: Record<string, Credentials>): CredentialsProvider {
  return (host) => Promise.resolve(Object.hasOwn(byHost, host) ? byHost[host] : undefined);
}

/** Asks each provider in turn; the first that has credentials for the host wins. */
export function firstCredentials(...providers: CredentialsProvider[]): CredentialsProvider {
  return async (host) => {
    for (const provider of providers) {
      const found = await provider(host);
      if (found !== undefined) return found;
    }
    return undefined;
  };
}

/**
 * Credentials from the environment for one named host:
 * SLSA_GATE_REGISTRY_HOST, SLSA_GATE_REGISTRY_USERNAME, SLSA_GATE_REGISTRY_PASSWORD.
 * The host is required so a password is never offered to a registry it was not meant for.
 */
export function envCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsProvider {
  const host = env.SLSA_GATE_REGISTRY_HOST;
  const username = env.SLSA_GATE_REGISTRY_USERNAME;
  const password = env.SLSA_GATE_REGISTRY_PASSWORD;
  if (host === undefined && username === undefined && password === undefined)
    return () => Promise.resolve(undefined);
  const missing = Object.entries({
    SLSA_GATE_REGISTRY_HOST: host,
    SLSA_GATE_REGISTRY_USERNAME: username,
    SLSA_GATE_REGISTRY_PASSWORD: password,
  })
    .filter(([, v]) => v === undefined || v === '')
    .map(([k]) => k);
  if (missing.length > 0) {
    throw new GateError(
      'CONFIG_INVALID',
      `registry credentials in the environment are incomplete: set ${missing.join(', ')}`,
      {
        detail: { missing },
      },
    );
  }
  return staticCredentials({ [host!]: { username: username!, password: password! } });
}

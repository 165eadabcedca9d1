/**
 * Registry clients as configured: credentials per host in a fixed order, and the hosts
 * reached over plain HTTP. The worker and the CLI build their clients here, so both talk
 * to a registry the same way; callers get clients, never the credentials themselves.
 */
import { GateError } from '../core/errors.ts';
import { RegistryClient } from '../registry/client.ts';
import { NpmRegistryClient, npmRegistryUrl } from '../registry/npm-registry.ts';
import {
  envCredentials,
  firstCredentials,
  staticCredentials,
  type CredentialsProvider,
} from '../registry/credentials.ts';
import { dockerConfigCredentials } from '../registry/docker-credentials.ts';
import type { Config } from './config.ts';
import { loadRegistryCredentialsFile } from './registry-credentials-file.ts';

/** Per host, in this order: the credentials file (SLSA_GATE_REGISTRY_CREDENTIALS), Docker's config.json, the environment. */
export function configuredCredentials(config: Pick<Config, 'registryCredentialsFile'>): CredentialsProvider {
  return firstCredentials(
    staticCredentials(
      config.registryCredentialsFile ? loadRegistryCredentialsFile(config.registryCredentialsFile) : {},
    ),
    dockerConfigCredentials(),
    envCredentials(),
  );
}

/** One client per registry host, created on first use with the configured credentials and transport. */
export function registryClients(
  config: Pick<Config, 'registryCredentialsFile' | 'insecureRegistries'>,
): (host: string) => RegistryClient {
  const credentials = configuredCredentials(config);
  const clients = new Map<string, RegistryClient>();
  return (host) => {
    let client = clients.get(host);
    if (!client) {
      client = RegistryClient.forHost(host, { insecureHosts: config.insecureRegistries, credentials });
      clients.set(host, client);
    }
    return client;
  };
}

/**
 * A client for each configured npm registry (SLSA_GATE_NPM_REGISTRIES), by host: a host the
 * operator did not configure is refused, so a request cannot send the worker to a registry of
 * its choosing. Requests and decisions name an npm registry by its host, so two configured on
 * one host (two paths of a repository manager) are refused: one would answer for both, and the
 * candidate would be read from, or published to, the other.
 */
export function npmRegistryClients(
  config: Pick<Config, 'registryCredentialsFile' | 'npmRegistries'>,
): (host: string) => NpmRegistryClient {
  const credentials = configuredCredentials(config);
  const clients = new Map<string, NpmRegistryClient>();
  for (const value of config.npmRegistries) {
    const url = npmRegistryUrl(value);
    const other = clients.get(url.host);
    if (other)
      throw new GateError(
        'CONFIG_INVALID',
        `SLSA_GATE_NPM_REGISTRIES names ${other.base.href} and ${url.href} on one host, ${url.host}: each npm registry needs a host of its own`,
      );
    clients.set(url.host, new NpmRegistryClient(url, credentials));
  }
  return (host) => {
    const client = clients.get(host);
    if (!client)
      throw new GateError(
        'INPUT_INVALID',
        `${host} is not a configured npm registry (SLSA_GATE_NPM_REGISTRIES)`,
        {
          detail: { host },
        },
      );
    return client;
  };
}

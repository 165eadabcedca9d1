import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ActivityDeps } from '../activities/deps.ts';
import { createArchiveAttestor, selfVsaTrust } from '../attestors/archive-attestor.ts';
import { loadAttestors } from '../attestors/attestors-config.ts';
import { MemoryLevelCache } from '../attestors/level-cache.ts';
import { resolveResources } from '../attestors/resolve-levels.ts';
import { GateError } from '../core/errors.ts';
import { parsePolicy } from '../core/policy/policy-file.ts';
import { defaultTrustMap, parseTrustMap } from '../core/policy/trust-map.ts';
import { loadTrustMaterial } from '../loaders/trust-material-files.ts';
import { RegistryClient } from '../registry/client.ts';
import { envCredentials, firstCredentials, staticCredentials } from '../registry/credentials.ts';
import { dockerConfigCredentials } from '../registry/docker-credentials.ts';
import { loadSigningKey } from '../signing/signing-key.ts';
import type { Config } from './config.ts';
import { connectArchive } from './mongo-options.ts';
import { loadRegistryCredentialsFile } from './registry-credentials-file.ts';

function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `cannot read ${what} ${path}`, { cause });
  }
}

/** Builds the activities' dependencies from the configuration: connections, trust material, keys. */
export async function createActivityDeps(
  config: Config,
  overrides: Partial<ActivityDeps> = {},
): Promise<ActivityDeps & { close(): Promise<void> }> {
  const trust = loadTrustMaterial({
    ...(config.trustedRoot ? { trustedRoot: config.trustedRoot } : {}),
    publicKeys: config.publicKeys.map((k) => ({ keyId: k.keyId, pem: readConfigFile(k.path, 'public key') })),
  });
  const trustMap = config.trustMapFile
    ? parseTrustMap(parseYaml(readConfigFile(config.trustMapFile, 'trust map')), config.trustMapFile)
    : defaultTrustMap();
  const defaultPolicy = config.policyFile
    ? { text: readConfigFile(config.policyFile, 'policy'), origin: config.policyFile }
    : undefined;
  // CHECKLIST row 10: a worker whose policy is invalid or incomplete does not start.
  if (defaultPolicy) parsePolicy(defaultPolicy.text, defaultPolicy.origin, overrides.trustMap ?? trustMap);
  const signer =
    overrides.signer ??
    loadSigningKey({ keyId: config.vsaKeyId, ...(config.vsaKeyFile ? { keyFile: config.vsaKeyFile } : {}) });
  // Per host, in this order: explicit configuration, Docker's config.json, the environment.
  // Read here, in the worker; activities get clients, never the credentials themselves.
  const credentials = firstCredentials(
    staticCredentials(
      config.registryCredentialsFile ? loadRegistryCredentialsFile(config.registryCredentialsFile) : {},
    ),
    dockerConfigCredentials(),
    envCredentials(),
  );
  const archive = overrides.archive ?? (await connectArchive(config));
  const clients = new Map<string, RegistryClient>();
  const registry = (host: string) => {
    let client = clients.get(host);
    if (!client) {
      client = RegistryClient.forHost(host, { insecureHosts: config.insecureRegistries, credentials });
      clients.set(host, client);
    }
    return client;
  };
  // The control point is its own attestor: what it published before carries its VSA.
  const selfTrust = selfVsaTrust({
    verifierId: config.verifierId,
    keyId: signer.keyId,
    publicKeyPem: signer.publicKeyPem,
  });
  const { attestors, options } = config.attestorsFile
    ? loadAttestors(config.attestorsFile, { registryClient: registry, archive, selfTrust })
    : { attestors: [createArchiveAttestor({ archive, trust: selfTrust })], options: {} };
  const cache = new MemoryLevelCache();
  return {
    config,
    archive,
    registry,
    trust,
    trustMap,
    ...(defaultPolicy ? { defaultPolicy } : {}),
    signer,
    resolveLevels: (resources, opts) =>
      resolveResources(resources, {
        ...options,
        attestors,
        cache,
        includeAttestations: true,
        failOnUnavailable: opts.failOnUnavailable,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}),
      }),
    ...overrides,
    close: () => archive.close(),
  };
}

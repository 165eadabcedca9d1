import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ActivityDeps } from '../activities/deps.ts';
import { openArchive } from '../archive/archive.ts';
import { GateError } from '../core/errors.ts';
import { defaultTrustMap, parseTrustMap } from '../core/policy/trust-map.ts';
import { loadTrustMaterial } from '../core/trust/trust-material.ts';
import { RegistryClient } from '../registry/client.ts';
import { loadSigningKey } from '../signing/signing-key.ts';
import type { Config } from './config.ts';

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
  const signer =
    overrides.signer ??
    loadSigningKey({ keyId: config.vsaKeyId, ...(config.vsaKeyFile ? { keyFile: config.vsaKeyFile } : {}) });
  const archive = overrides.archive ?? (await openArchive(config.mongoUri, config.database));
  const clients = new Map<string, RegistryClient>();
  const registry = (host: string) => {
    let client = clients.get(host);
    if (!client) {
      client = RegistryClient.forHost(host, { insecureHosts: config.insecureRegistries });
      clients.set(host, client);
    }
    return client;
  };
  return {
    config,
    archive,
    registry,
    trust,
    trustMap,
    ...(defaultPolicy ? { defaultPolicy } : {}),
    signer,
    resolveLevels: async () => ({}),
    ...overrides,
    close: () => archive.close(),
  };
}

/**
 * The configured trust anchors: the Sigstore trusted root and public keys that vouch for
 * signatures, and the trust map that says which builders are trusted at which level.
 * Read once here for the worker and `audit replay`, so both trust exactly the same material.
 */
import { parse as parseYaml } from 'yaml';
import { defaultTrustMap, parseTrustMap, type TrustMap } from '../core/policy/trust-map.ts';
import { buildTrustMaterial, type TrustMaterial, type TrustSources } from '../core/trust/trust-material.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import { readPublicKeyFile, readTrustSources } from '../loaders/trust-material-files.ts';
import type { Config } from './config.ts';

/** The trusted root and keys of the configuration (SLSA_GATE_TRUSTED_ROOT, SLSA_GATE_PUBLIC_KEYS, SLSA_GATE_NPM_KEYS). */
export function loadConfiguredTrustMaterial(
  config: Pick<Config, 'trustedRoot' | 'publicKeys' | 'npmKeys'>,
): TrustMaterial {
  return buildTrustMaterial(readConfiguredTrustSources(config));
}

/** The bytes of the configured trust material, for a bulk run's worker threads (src/audit/verify-pool.ts). */
export function readConfiguredTrustSources(
  config: Pick<Config, 'trustedRoot' | 'publicKeys' | 'npmKeys'>,
): TrustSources {
  return readTrustSources({
    ...(config.trustedRoot ? { trustedRoot: config.trustedRoot } : {}),
    ...(config.npmKeys ? { npmKeys: config.npmKeys } : {}),
    publicKeys: config.publicKeys.map((k) => ({ keyId: k.keyId, pem: readPublicKeyFile(k.path) })),
  });
}

/** The trust map file named by the configuration (SLSA_GATE_TRUST_MAP), or the shipped defaults. */
export function loadConfiguredTrustMap(trustMapFile: string | undefined): TrustMap {
  return trustMapFile
    ? parseTrustMap(
        parseYaml(readConfigText(trustMapFile, CONFIG_FILE_LIMIT_BYTES, 'trust map')),
        trustMapFile,
      )
    : defaultTrustMap();
}

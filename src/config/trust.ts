/**
 * The configured trust anchors: the Sigstore trusted root and public keys that vouch for
 * signatures, and the trust map that says which builders are trusted at which level.
 * Read once here for the worker and `audit replay`, so both trust exactly the same material.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { GateError } from '../core/errors.ts';
import { defaultTrustMap, parseTrustMap, type TrustMap } from '../core/policy/trust-map.ts';
import { buildTrustMaterial, type TrustMaterial, type TrustSources } from '../core/trust/trust-material.ts';
import { readTrustSources } from '../loaders/trust-material-files.ts';
import type { Config } from './config.ts';

/** Reads a file the configuration names; a missing or unreadable one is CONFIG_INVALID naming it. */
export function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `cannot read ${what} ${path}`, { cause, detail: { path } });
  }
}

/** The trusted root and public keys of the configuration (SLSA_GATE_TRUSTED_ROOT, SLSA_GATE_PUBLIC_KEYS). */
export function loadConfiguredTrustMaterial(
  config: Pick<Config, 'trustedRoot' | 'publicKeys'>,
): TrustMaterial {
  return buildTrustMaterial(readConfiguredTrustSources(config));
}

/** The bytes of the configured trust material, for a bulk run's worker threads (src/audit/verify-pool.ts). */
export function readConfiguredTrustSources(config: Pick<Config, 'trustedRoot' | 'publicKeys'>): TrustSources {
  return readTrustSources({
    ...(config.trustedRoot ? { trustedRoot: config.trustedRoot } : {}),
    publicKeys: config.publicKeys.map((k) => ({ keyId: k.keyId, pem: readConfigFile(k.path, 'public key') })),
  });
}

/** The trust map file named by the configuration (SLSA_GATE_TRUST_MAP), or the shipped defaults. */
export function loadConfiguredTrustMap(trustMapFile: string | undefined): TrustMap {
  return trustMapFile
    ? parseTrustMap(parseYaml(readConfigFile(trustMapFile, 'trust map')), trustMapFile)
    : defaultTrustMap();
}

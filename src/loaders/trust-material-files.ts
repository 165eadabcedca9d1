/**
 * Reads trust material from disk (the trusted root, configured public keys, the npm
 * registry's keys, a directory of Google Cloud Build keys) and hands the bytes to the
 * core, which parses and pins them (src/core/trust/trust-material.ts).
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GateError } from '../core/errors.ts';
import { buildTrustMaterial, type TrustMaterial, type TrustSources } from '../core/trust/trust-material.ts';
import { packageFile } from './package-root.ts';
import { KEY_FILE_LIMIT_BYTES, readFileCapped, TRUST_FILE_LIMIT_BYTES } from './read-file-capped.ts';
import { applyVerifyCacheSwitch } from './verify-cache-switch.ts';

/** The Sigstore public-good trusted root shipped with slsa-gate (from the @sigstore/tuf seeds; refresh with `slsa-gate trust refresh`). */
export const DEFAULT_TRUSTED_ROOT = packageFile('assets/trust/sigstore-public-good-trusted_root.json');

/**
 * The npm registry's attestation keys as served by https://registry.npmjs.org/-/npm/v1/keys,
 * shipped so that npm publish attestations verify only under the registry's keys by default.
 */
export const DEFAULT_NPM_KEYS = packageFile('assets/trust/npm-registry-keys.json');

const GCB_KEYS_LIMIT = 256;

/** Where trust material comes from; every field optional (default: the shipped public-good root, no keys). */
export interface TrustOptions {
  trustedRoot?: string;
  publicKeys?: Array<{ keyId: string; pem: string }>;
  npmKeys?: string;
  gcbKeysDir?: string;
}

function readGcbKeys(dir: string): Array<{ name: string; pem: string; origin: string }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.key') || n.endsWith('.pem'));
  } catch (cause) {
    throw new GateError(
      'CONFIG_INVALID',
      `cannot read GCB keys directory ${dir}: ${(cause as Error).message}`,
      {
        cause,
        detail: { file: dir },
      },
    );
  }
  if (names.length > GCB_KEYS_LIMIT) {
    throw new GateError(
      'LIMIT_EXCEEDED',
      `GCB keys directory ${dir}: ${names.length} keys, more than ${GCB_KEYS_LIMIT}`,
      {
        detail: { file: dir, limit: GCB_KEYS_LIMIT },
      },
    );
  }
  return names.sort().map((name) => {
    const origin = join(dir, name);
    return {
      name: name.replace(/\.(key|pem)$/, ''),
      pem: readFileCapped(origin, KEY_FILE_LIMIT_BYTES, 'GCB key', 'config').toString('utf8'),
      origin,
    };
  });
}

/** Read a public key file given on the command line or in configuration (PEM text). */
export function readPublicKeyFile(path: string, what = 'public key'): string {
  return readFileCapped(path, KEY_FILE_LIMIT_BYTES, what, 'config').toString('utf8');
}

/** Load and pin the trust material all verification runs against. Files that cannot be read or do not parse are CONFIG_INVALID. */
export function loadTrustMaterial(opts: TrustOptions = {}): TrustMaterial {
  return buildTrustMaterial(readTrustSources(opts));
}

/**
 * The bytes `loadTrustMaterial` builds from, read once: a bulk run hands them to its worker
 * threads (src/audit/verify-pool.ts), so every thread trusts exactly what was read here.
 */
export function readTrustSources(opts: TrustOptions = {}): TrustSources {
  applyVerifyCacheSwitch();
  const rootPath = opts.trustedRoot ?? DEFAULT_TRUSTED_ROOT;
  const shipped = readFileCapped(DEFAULT_TRUSTED_ROOT, TRUST_FILE_LIMIT_BYTES, 'trusted root', 'config');
  const rootBytes =
    rootPath === DEFAULT_TRUSTED_ROOT
      ? shipped
      : readFileCapped(rootPath, TRUST_FILE_LIMIT_BYTES, 'trusted root', 'config');
  return {
    trustedRoot: { bytes: rootBytes, origin: rootPath },
    publicGoodRootDigest: createHash('sha256').update(shipped).digest('hex'),
    ...(opts.publicKeys ? { publicKeys: opts.publicKeys } : {}),
    ...(opts.npmKeys !== undefined
      ? {
          npmKeys: {
            bytes: readFileCapped(opts.npmKeys, TRUST_FILE_LIMIT_BYTES, 'npm keys file', 'config'),
            origin: opts.npmKeys,
          },
        }
      : {}),
    ...(opts.gcbKeysDir !== undefined ? { gcbKeys: readGcbKeys(opts.gcbKeysDir) } : {}),
  };
}

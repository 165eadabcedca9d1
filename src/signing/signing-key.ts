import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GateError } from '../core/errors.ts';
import { KEY_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';

/**
 * Signs bytes for slsa-gate's own attestations (VSAs). A KMS-backed signer implements
 * the same interface; the private key never leaves the worker process.
 */
export interface AttestationSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

class LocalKeySigner implements AttestationSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #key: KeyObject;

  constructor(keyId: string, key: KeyObject) {
    this.keyId = keyId;
    this.#key = key;
    this.publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const alg = this.#key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    return sign(alg, data, this.#key);
  }
}

/**
 * Loads the VSA signing key: the PEM in SLSA_GATE_VSA_KEY_PEM, else the file named by
 * SLSA_GATE_VSA_KEY, which must not be readable by group or others.
 */
export function loadSigningKey(opts: {
  keyFile?: string;
  keyId: string;
  env?: NodeJS.ProcessEnv;
}): AttestationSigner {
  const env = opts.env ?? process.env;
  const fromEnv = env.SLSA_GATE_VSA_KEY_PEM;
  if (fromEnv) return new LocalKeySigner(opts.keyId, parsePrivateKey(fromEnv, 'SLSA_GATE_VSA_KEY_PEM'));
  if (!opts.keyFile) {
    throw new GateError(
      'CONFIG_INVALID',
      'no VSA signing key: set SLSA_GATE_VSA_KEY to a PEM file (mode 0600) or SLSA_GATE_VSA_KEY_PEM to the PEM',
    );
  }
  if (!existsSync(opts.keyFile)) {
    throw new GateError(
      'CONFIG_INVALID',
      `VSA signing key file not found: ${opts.keyFile} (SLSA_GATE_VSA_KEY)`,
    );
  }
  const mode = statSync(opts.keyFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new GateError(
      'CONFIG_INVALID',
      `VSA signing key file ${opts.keyFile} has mode ${mode.toString(8)}; it must not be readable by group or others (chmod 600)`,
    );
  }
  return new LocalKeySigner(
    opts.keyId,
    parsePrivateKey(readConfigText(opts.keyFile, KEY_FILE_LIMIT_BYTES, 'VSA signing key'), opts.keyFile),
  );
}

function parsePrivateKey(pem: string, where: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new GateError('CONFIG_INVALID', `${where} does not hold a PEM private key`);
  }
}

/** Creates an ECDSA P-256 key for local development when none exists, with mode 0600. Returns its path. */
export function ensureDevSigningKey(path: string): string {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** A key id derived from the public key: `sha256:<hex of SPKI DER>`. */
export function publicKeyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

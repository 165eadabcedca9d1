/**
 * The gate's VSA public keys as consumers pin them (docs/consumers.md#the-gates-public-key):
 * each with its key id, its fingerprint (sha256 of the SubjectPublicKeyInfo DER, the value a
 * consumer compares out of band) and its validity. Served by the API at
 * `/.well-known/slsa-gate/keys` and printed by `slsa-gate keys`; both read the same settings.
 */
import { createPublicKey } from 'node:crypto';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { KEY_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import { loadSigningKey, publicKeyFingerprint } from './signing-key.ts';

/** One published key. */
export const VsaPublicKeySchema = z.strictObject({
  keyId: z.string().min(1),
  /** `sha256:<hex>` of the SPKI DER (`openssl pkey -pubin -outform DER | sha256sum`). */
  fingerprint: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** `ecdsa-p256`, `ed25519`, `rsa`… */
  algorithm: z.string(),
  /** `current` signs new VSAs; a `retired` key signed earlier ones and signs no more. */
  status: z.enum(['current', 'retired']),
  /** ISO 8601: the key signs no VSA before this time (absent: not configured). */
  notBefore: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601: a retired key signs no VSA after this time. */
  notAfter: z.iso.datetime({ offset: true }).optional(),
  publicKeyPem: z.string(),
});
export type VsaPublicKey = z.infer<typeof VsaPublicKeySchema>;

/** The key set document (`GET /.well-known/slsa-gate/keys`, `slsa-gate keys --json`). */
export const VsaKeySetSchema = z.strictObject({ keys: z.array(VsaPublicKeySchema) });
export type VsaKeySet = z.infer<typeof VsaKeySetSchema>;

/** SLSA_GATE_VSA_RETIRED_KEYS: keys that signed earlier VSAs, kept published after a rotation. */
const RetiredKeysSchema = z.array(
  z.strictObject({
    keyId: z.string().min(1),
    /** A PEM public key file. */
    publicKey: z.string().min(1),
    notBefore: z.iso.datetime({ offset: true }).optional(),
    notAfter: z.iso.datetime({ offset: true }),
  }),
);

const CURVE_NAMES: Record<string, string> = { prime256v1: 'p256', secp384r1: 'p384', secp521r1: 'p521' };

function algorithmOf(pem: string): string {
  const key = createPublicKey(pem);
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type !== 'ec') return type;
  const curve = String(key.asymmetricKeyDetails?.namedCurve);
  return `ecdsa-${CURVE_NAMES[curve] ?? curve}`;
}

function readPublicKeyPem(path: string, where: string): string {
  const text = readConfigText(path, KEY_FILE_LIMIT_BYTES, where);
  // Node derives a public key from a private one: a private key here would be published
  // from a process that should never hold it.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new GateError('CONFIG_INVALID', `${where}: ${path} holds a private key; give the public key file`);
  try {
    return createPublicKey(text).export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    throw new GateError('CONFIG_INVALID', `${where}: ${path} does not hold a PEM public key`);
  }
}

/** One entry of the key set for `publicKeyPem`. */
export function vsaPublicKey(
  keyId: string,
  publicKeyPem: string,
  validity: Pick<VsaPublicKey, 'status' | 'notBefore' | 'notAfter'>,
): VsaPublicKey {
  return {
    keyId,
    fingerprint: publicKeyFingerprint(publicKeyPem),
    algorithm: algorithmOf(publicKeyPem),
    ...validity,
    publicKeyPem,
  };
}

/**
 * The key set from the environment: the current key is the public half of the signing key
 * (SLSA_GATE_VSA_KEY / SLSA_GATE_VSA_KEY_PEM, where the worker's configuration is at hand) or
 * SLSA_GATE_VSA_PUBLIC_KEY (a public key file: the API never needs the private key), with id
 * SLSA_GATE_VSA_KEY_ID and SLSA_GATE_VSA_KEY_NOT_BEFORE; then SLSA_GATE_VSA_RETIRED_KEYS (a
 * JSON file `[{keyId, publicKey: FILE, notBefore?, notAfter}]`). No key configured is
 * CONFIG_INVALID: an empty set would tell a consumer nothing is signed.
 */
export function loadVsaKeySet(env: NodeJS.ProcessEnv = process.env): VsaKeySet {
  const keyId = env.SLSA_GATE_VSA_KEY_ID || 'slsa-gate-vsa';
  let current: string;
  if (env.SLSA_GATE_VSA_PUBLIC_KEY)
    current = readPublicKeyPem(env.SLSA_GATE_VSA_PUBLIC_KEY, 'SLSA_GATE_VSA_PUBLIC_KEY');
  else if (env.SLSA_GATE_VSA_KEY || env.SLSA_GATE_VSA_KEY_PEM)
    current = loadSigningKey({
      keyId,
      env,
      ...(env.SLSA_GATE_VSA_KEY ? { keyFile: env.SLSA_GATE_VSA_KEY } : {}),
    }).publicKeyPem;
  else
    throw new GateError(
      'CONFIG_INVALID',
      'no VSA key to publish: set SLSA_GATE_VSA_PUBLIC_KEY (the public key file) or SLSA_GATE_VSA_KEY',
    );
  const notBefore = env.SLSA_GATE_VSA_KEY_NOT_BEFORE;
  if (notBefore !== undefined && !z.iso.datetime({ offset: true }).safeParse(notBefore).success)
    throw new GateError('CONFIG_INVALID', 'SLSA_GATE_VSA_KEY_NOT_BEFORE: not an ISO 8601 date-time');
  const keys = [vsaPublicKey(keyId, current, { status: 'current', ...(notBefore ? { notBefore } : {}) })];
  if (env.SLSA_GATE_VSA_RETIRED_KEYS) {
    const where = 'SLSA_GATE_VSA_RETIRED_KEYS';
    let json: unknown;
    try {
      json = JSON.parse(readConfigText(env.SLSA_GATE_VSA_RETIRED_KEYS, KEY_FILE_LIMIT_BYTES * 16, where));
    } catch (err) {
      if (err instanceof GateError) throw err;
      throw new GateError('CONFIG_INVALID', `${where}: not JSON`);
    }
    const parsed = RetiredKeysSchema.safeParse(json);
    if (!parsed.success) throw new GateError('CONFIG_INVALID', `${where}: ${z.prettifyError(parsed.error)}`);
    for (const retired of parsed.data) {
      const { keyId: retiredId, publicKey, ...validity } = retired;
      keys.push(
        vsaPublicKey(retiredId, readPublicKeyPem(publicKey, where), { ...validity, status: 'retired' }),
      );
    }
  }
  const ids = new Set(keys.map((k) => k.keyId));
  if (ids.size !== keys.length)
    throw new GateError('CONFIG_INVALID', 'two published VSA keys share a key id');
  return { keys };
}

/** The key set as PEM: each key preceded by comment lines naming its id, fingerprint and validity. */
export function vsaKeySetPem(set: VsaKeySet): string {
  return set.keys
    .map((k) =>
      [
        `# ${k.keyId} ${k.fingerprint} ${k.status}${k.notBefore ? ` notBefore=${k.notBefore}` : ''}${k.notAfter ? ` notAfter=${k.notAfter}` : ''}`,
        k.publicKeyPem.trimEnd(),
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');
}

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  toTrustMaterial,
  VerificationError,
  type TrustMaterial as SigstoreTrustMaterial,
} from '@sigstore/verify';
import * as z from 'zod';
import { GateError } from '../errors.ts';
import { cached, LruCache } from '../verify/verify-cache.ts';

const PUBLIC_GOOD_NAME = 'sigstore-public-good';
/** `Signer.trustedBy` prefix of a signature an npm registry key verified. */
export const NPM_REGISTRY_TRUSTED_BY = 'npm-registry:';
const BEGINNING_OF_TIME = new Date(0);
const END_OF_TIME = new Date(8640000000000000);

/** A public key a signature may verify under, and the label recorded in `Signer.trustedBy`. */
export interface TrustedKey {
  keyId: string;
  key: KeyObject;
  validFor: { start: Date; end: Date };
  trustedBy: string;
}

/** Everything signatures are verified against. Built once, shared by every verification. */
export interface TrustMaterial {
  /** sigstore-js form of the trusted root, with a key finder over `publicKeys` and `npmKeys`. */
  sigstore: SigstoreTrustMaterial;
  /** `sigstore-public-good` for the shipped root, else `trusted-root:sha256:<hex>` of the root file. */
  rootName: string;
  /** PEM keys from configuration; key id `''` applies to any key hint (one explicitly given key, as `cosign --key`). */
  publicKeys: TrustedKey[];
  /** npm registry keys with keyUsage `npm:attestations`, selected by the bundle's key hint. */
  npmKeys: TrustedKey[];
  /** Google Cloud Build KMS public keys by file name (without `.key`/`.pem`). */
  gcbKeys: Map<string, KeyObject>;
  /** `sha256:<hex>` over all of the above: part of every cache key. */
  digest: string;
}

/** A file's bytes and the name it is reported under. */
export interface SourceBytes {
  bytes: Uint8Array;
  origin: string;
}

/** The bytes trust material is built from, read by the caller (src/loaders/trust-material-files.ts reads them from disk). */
export interface TrustSources {
  trustedRoot: SourceBytes;
  /** sha256 hex of the shipped public-good root: a root with exactly these bytes is named `sigstore-public-good`. */
  publicGoodRootDigest: string;
  publicKeys?: Array<{ keyId: string; pem: string }>;
  /** The npm registry's keys document. */
  npmKeys?: SourceBytes;
  /** Google Cloud Build KMS public keys (PEM), by name (the file name without `.key`/`.pem`). */
  gcbKeys?: Array<{ name: string; pem: string; origin: string }>;
}

const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];

// _trust/npm-registry-keys.json, as served by https://registry.npmjs.org/-/npm/v1/keys (loose: upstream format).
const NpmKeysSchema = z.looseObject({
  keys: z.array(
    z.looseObject({
      keyId: z.string().min(1),
      keyUsage: z.string(),
      publicKey: z.looseObject({
        rawBytes: z.string().min(1),
        keyDetails: z.string().optional(),
        validFor: z.looseObject({ start: z.string().optional(), end: z.string().optional() }).optional(),
      }),
    }),
  ),
});

function parseJsonFile(bytes: Uint8Array, path: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `${what} ${path} is not valid JSON: ${(cause as Error).message}`, {
      cause,
      detail: { file: path },
    });
  }
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function spkiDigest(key: KeyObject): string {
  return sha256(key.export({ type: 'spki', format: 'der' }));
}

/**
 * A log key's `validFor` is optional, but when given its `start` is required
 * (protobuf-specs `TimeRange`: `start` is not optional, `end` is): sigstore-js reads a
 * missing start as "since the beginning of time", which would let the key vouch for
 * entries from before it existed (sigstore-conformance
 * `trust-root-tlog-missing-validity-start_fail`).
 */
function checkLogKeyValidity(json: unknown, path: string): void {
  for (const list of ['tlogs', 'ctlogs'] as const) {
    const logs = (json as Record<string, unknown>)[list];
    if (!Array.isArray(logs)) continue;
    logs.forEach((log: unknown, i) => {
      const validFor = (log as { publicKey?: { validFor?: unknown } } | null)?.publicKey?.validFor;
      if (validFor === undefined || validFor === null) return;
      const start = (validFor as { start?: unknown }).start;
      if (typeof start !== 'string' || start === '') {
        const at = `$.${list}[${i}].publicKey.validFor.start`;
        throw new GateError(
          'CONFIG_INVALID',
          `trusted root ${path}: ${at} is missing: a key validity period needs its start`,
          {
            detail: { file: path, path: at },
          },
        );
      }
    });
  }
}

/** Parse a `trusted_root.json` into sigstore-js trust material; a bad file is CONFIG_INVALID naming the file. */
export function parseTrustedRoot(bytes: Uint8Array, path: string): { root: TrustedRoot; json: unknown } {
  const json = parseJsonFile(bytes, path, 'trusted root');
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.includes(mediaType)) {
    throw new GateError(
      'CONFIG_INVALID',
      `trusted root ${path}: $.mediaType ${JSON.stringify(mediaType)} is not a trusted root media type`,
      {
        detail: { file: path, path: '$.mediaType' },
      },
    );
  }
  checkLogKeyValidity(json, path);
  try {
    return { root: TrustedRoot.fromJSON(json), json };
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `trusted root ${path} is malformed: ${(cause as Error).message}`, {
      cause,
      detail: { file: path },
    });
  }
}

function parseNpmKeys({ bytes, origin: path }: SourceBytes): TrustedKey[] {
  const parsed = NpmKeysSchema.safeParse(parseJsonFile(bytes, path, 'npm keys file'));
  if (!parsed.success) {
    throw new GateError('CONFIG_INVALID', `npm keys file ${path}: ${z.prettifyError(parsed.error)}`, {
      detail: { file: path },
    });
  }
  // Only keys meant for attestations verify attestations (npm registry key usage).
  return parsed.data.keys
    .filter((k) => k.keyUsage === 'npm:attestations')
    .map((k, i) => {
      let key: KeyObject;
      try {
        key = createPublicKey({
          key: Buffer.from(k.publicKey.rawBytes, 'base64'),
          format: 'der',
          type: 'spki',
        });
      } catch (cause) {
        throw new GateError(
          'CONFIG_INVALID',
          `npm keys file ${path}: $.keys[${i}].publicKey.rawBytes is not an SPKI key`,
          {
            cause,
            detail: { file: path, path: `$.keys[${i}].publicKey.rawBytes` },
          },
        );
      }
      const start = k.publicKey.validFor?.start;
      const end = k.publicKey.validFor?.end;
      return {
        keyId: k.keyId,
        key,
        validFor: {
          start: start ? new Date(start) : BEGINNING_OF_TIME,
          end: end ? new Date(end) : END_OF_TIME,
        },
        trustedBy: `${NPM_REGISTRY_TRUSTED_BY}${k.keyId}`,
      };
    });
}

function loadPemKey(pem: string, what: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `${what} is not a PEM public key: ${(cause as Error).message}`, {
      cause,
      detail: { file: what },
    });
  }
}

function parseGcbKeys(files: Array<{ name: string; pem: string; origin: string }>): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    keys.set(file.name, loadPemKey(file.pem, file.origin));
  }
  return keys;
}

/**
 * Find the key for a bundle's key hint: an exact configured key id, then an npm registry
 * key of that id, then a key configured without id. The hint only selects among configured
 * keys; a key given without id never stands in for an npm registry key (it would
 * let its holder sign publish attestations as the registry).
 */
export function findTrustedKey(
  trust: Pick<TrustMaterial, 'publicKeys' | 'npmKeys'>,
  hint: string,
): TrustedKey | undefined {
  const npm = trust.npmKeys.find((k) => k.keyId === hint);
  return (
    trust.publicKeys.find((k) => k.keyId !== '' && k.keyId === hint) ??
    npm ??
    trust.publicKeys.find((k) => k.keyId === '')
  );
}

/** Trust material built from the same sources, for the life of the process (src/core/verify/verify-cache.ts). */
const builtTrustMaterial = new LruCache<string, TrustMaterial>(16);

/**
 * Build and pin the trust material all verification runs against. Sources that do not parse
 * are CONFIG_INVALID. The same sources (every byte and name of them) give the same object, so
 * what verification keeps per trust material (CA certificates, the verifier, SCT results) is
 * kept for every caller that loads it again, as the admission webhook does per review.
 */
export function buildTrustMaterial(opts: TrustSources): TrustMaterial {
  const key = sha256(
    JSON.stringify({
      ...opts,
      trustedRoot: [opts.trustedRoot.origin, sha256(opts.trustedRoot.bytes)],
      npmKeys: opts.npmKeys && [opts.npmKeys.origin, sha256(opts.npmKeys.bytes)],
    }),
  );
  return cached(builtTrustMaterial, key, () => buildTrustMaterialOnce(opts));
}

function buildTrustMaterialOnce(opts: TrustSources): TrustMaterial {
  const { bytes: rootBytes, origin: rootPath } = opts.trustedRoot;
  const rootDigest = sha256(rootBytes);
  const { root } = parseTrustedRoot(rootBytes, rootPath);
  const rootName =
    rootDigest === opts.publicGoodRootDigest ? PUBLIC_GOOD_NAME : `trusted-root:sha256:${rootDigest}`;

  const publicKeys: TrustedKey[] = (opts.publicKeys ?? []).map((k) => ({
    keyId: k.keyId,
    key: loadPemKey(k.pem, k.keyId === '' ? 'public key' : `public key ${k.keyId}`),
    validFor: { start: BEGINNING_OF_TIME, end: END_OF_TIME },
    trustedBy: k.keyId === '' ? 'public-key' : `public-key:${k.keyId}`,
  }));
  const npmKeys = opts.npmKeys === undefined ? [] : parseNpmKeys(opts.npmKeys);
  const gcbKeys = parseGcbKeys(opts.gcbKeys ?? []);

  const keyFinder = (hint: string) => {
    const found = findTrustedKey({ publicKeys, npmKeys }, hint);
    if (!found) {
      throw new VerificationError({
        code: 'PUBLIC_KEY_ERROR',
        message: `no trusted key for key hint '${hint}'`,
      });
    }
    return {
      publicKey: found.key,
      validFor: (date: Date) => found.validFor.start <= date && date <= found.validFor.end,
    };
  };
  let sigstore: SigstoreTrustMaterial;
  try {
    sigstore = toTrustMaterial(root, keyFinder);
  } catch (cause) {
    throw new GateError(
      'CONFIG_INVALID',
      `trusted root ${rootPath} has unusable keys or certificates: ${(cause as Error).message}`,
      {
        cause,
        detail: { file: rootPath },
      },
    );
  }

  const digest = sha256(
    JSON.stringify({
      root: rootDigest,
      publicKeys: publicKeys.map((k) => [k.keyId, spkiDigest(k.key)]),
      npmKeys: npmKeys.map((k) => [
        k.keyId,
        spkiDigest(k.key),
        k.validFor.start.toISOString(),
        k.validFor.end.toISOString(),
      ]),
      gcbKeys: [...gcbKeys].map(([name, key]) => [name, spkiDigest(key)]),
    }),
  );
  return { sigstore, rootName, publicKeys, npmKeys, gcbKeys, digest: `sha256:${digest}` };
}

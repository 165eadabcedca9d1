/**
 * DSSE v1 pre-authentication encoding, strict base64 decoding and the raw
 * signature check shared by the key-signed forms (bare DSSE, GCB, cosign layers).
 */
import { verify, type KeyObject } from 'node:crypto';
import { GateError, type ErrorCode } from '../errors.ts';

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_BASE64 = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/;

/** DSSE v1 PAE: `DSSEv1 <len(type)> <type> <len(body)> <body>` (DSSE protocol.md, "Signature Definition"). */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/**
 * Decodes standard or URL-safe base64, as DSSE requires verifiers to accept both
 * (DSSE protocol.md, "Protocol"). Node's own decoder skips bad characters, so the
 * alphabet and padding are checked first; anything else is rejected with `code`.
 */
export function decodeBase64(value: string, where: string, code: ErrorCode = 'BUNDLE_MALFORMED'): Buffer {
  if (STD_BASE64.test(value)) return Buffer.from(value, 'base64');
  if (URL_BASE64.test(value)) return Buffer.from(value, 'base64url');
  throw new GateError(code, `${where} is not valid base64`, { detail: { where } });
}

/** Byte length of one ECDSA scalar for the key's curve, used to recognise IEEE-P1363 (r||s) signatures. */
function ecScalarLength(key: KeyObject): number | undefined {
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case 'prime256v1':
      return 32;
    case 'secp384r1':
      return 48;
    case 'secp521r1':
      return 66;
    default:
      return undefined;
  }
}

/** The digest each key type signs with; DSSE leaves it to the key, so it follows the curve or key type. */
function digestFor(key: KeyObject): string | null {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
    case 'ed448':
      return null;
    case 'ec': {
      const size = ecScalarLength(key);
      return size === 48 ? 'sha384' : size === 66 ? 'sha512' : 'sha256';
    }
    default:
      return 'sha256';
  }
}

function tryVerify(
  algorithm: string | null,
  data: Uint8Array,
  key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' },
  signature: Uint8Array,
): boolean {
  try {
    return verify(algorithm, data, key, signature);
  } catch {
    // OpenSSL throws on some malformed inputs; for us that is simply "does not verify".
    return false;
  }
}

/**
 * True when `signature` is a valid signature of `data` by `key` (ECDSA, RSA PKCS#1 v1.5
 * or Ed25519). ECDSA signatures are accepted as DER or IEEE-P1363 (r||s): Cloud KMS
 * emits DER, Google's BCID VSAs use P1363. Never throws.
 */
export function verifySignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (key.type !== 'public' || signature.length === 0) return false;
  const algorithm = digestFor(key);
  if (tryVerify(algorithm, data, key, signature)) return true;
  const scalar = key.asymmetricKeyType === 'ec' ? ecScalarLength(key) : undefined;
  return (
    scalar !== undefined &&
    signature.length === 2 * scalar &&
    tryVerify(algorithm, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
  );
}

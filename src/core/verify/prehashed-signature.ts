import { constants, publicDecrypt, type KeyObject } from 'node:crypto';

/**
 * Signature verification over a digest the caller already has (a message-signature
 * bundle checked against `sha256:<hex>` only, as the Sigstore conformance protocol
 * allows). Node's `crypto.verify` always hashes its input, so ECDSA is verified here
 * with the textbook algorithm (SEC 1 v2 §4.1.4) on P-256/P-384, and RSA PKCS#1 v1.5
 * by recovering the DigestInfo (RFC 8017 §8.2.2). Ed25519 cannot sign a prehash: false.
 */
export function verifyPrehashed(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (key.asymmetricKeyType === 'ec') return verifyEcdsa(key, digest, signature);
    if (key.asymmetricKeyType === 'rsa') return verifyRsaPkcs1(key, digest, signature);
  } catch {
    return false;
  }
  return false;
}

// DigestInfo prefixes (RFC 8017 §9.2 note 1) by digest length.
const DIGEST_INFO: Record<number, string> = {
  32: '3031300d060960864801650304020105000420',
  48: '3041300d060960864801650304020205000430',
  64: '3051300d060960864801650304020305000440',
};

function verifyRsaPkcs1(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const prefix = DIGEST_INFO[digest.length];
  if (prefix === undefined) return false;
  const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return recovered.equals(Buffer.concat([Buffer.from(prefix, 'hex'), digest]));
}

interface Curve {
  p: bigint;
  n: bigint;
  b: bigint;
  gx: bigint;
  gy: bigint;
  bytes: number;
}

// FIPS 186-4 D.1.2 (a = -3 for both).
const CURVES: Record<string, Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    bytes: 32,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    bytes: 48,
  },
};

type Point = [bigint, bigint, bigint] | null; // Jacobian (X, Y, Z); null is the point at infinity

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0, m);
}

function double(P: Point, p: bigint): Point {
  if (P === null || P[1] === 0n) return null;
  const [X, Y, Z] = P;
  const Z2 = mod(Z * Z, p);
  const M = mod(3n * (X - Z2) * (X + Z2), p); // a = -3
  const Y2 = mod(Y * Y, p);
  const S = mod(4n * X * Y2, p);
  const X3 = mod(M * M - 2n * S, p);
  return [X3, mod(M * (S - X3) - 8n * Y2 * Y2, p), mod(2n * Y * Z, p)];
}

function add(P: Point, Q: Point, p: bigint): Point {
  if (P === null) return Q;
  if (Q === null) return P;
  const [X1, Y1, Z1] = P;
  const [X2, Y2, Z2] = Q;
  const Z1s = mod(Z1 * Z1, p);
  const Z2s = mod(Z2 * Z2, p);
  const U1 = mod(X1 * Z2s, p);
  const U2 = mod(X2 * Z1s, p);
  const S1 = mod(Y1 * Z2s * Z2, p);
  const S2 = mod(Y2 * Z1s * Z1, p);
  if (U1 === U2) return S1 === S2 ? double(P, p) : null;
  const H = mod(U2 - U1, p);
  const R = mod(S2 - S1, p);
  const H2 = mod(H * H, p);
  const H3 = mod(H2 * H, p);
  const X3 = mod(R * R - H3 - 2n * U1 * H2, p);
  return [X3, mod(R * (U1 * H2 - X3) - S1 * H3, p), mod(H * Z1 * Z2, p)];
}

/** u1·G + u2·Q by interleaved double-and-add (public inputs only: no constant-time need). */
function twoScalarMul(u1: bigint, G: Point, u2: bigint, Q: Point, p: bigint): Point {
  const GQ = add(G, Q, p);
  let R: Point = null;
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    R = double(R, p);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) R = add(R, GQ, p);
    else if (b1) R = add(R, G, p);
    else if (b2) R = add(R, Q, p);
  }
  return R;
}

const toBig = (bytes: Uint8Array): bigint =>
  bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);

/** DER `SEQUENCE { INTEGER r, INTEGER s }`, or raw r‖s (IEEE P1363). */
function parseSignature(sig: Uint8Array, size: number): [bigint, bigint] {
  if (sig.length === 2 * size) return [toBig(sig.subarray(0, size)), toBig(sig.subarray(size))];
  const buf = Buffer.from(sig);
  let i = 0;
  const len = (): number => {
    let l = buf[i++]!;
    if (l & 0x80) {
      const n = l & 0x7f;
      if (n > 2) throw new Error('bad length');
      l = 0;
      for (let k = 0; k < n; k++) l = (l << 8) | buf[i++]!;
    }
    return l;
  };
  if (buf[i++] !== 0x30) throw new Error('not a SEQUENCE');
  if (len() + i !== buf.length) throw new Error('trailing bytes');
  const int = (): bigint => {
    if (buf[i++] !== 0x02) throw new Error('not an INTEGER');
    const l = len();
    const v = buf.subarray(i, i + l);
    i += l;
    return toBig(v);
  };
  const r = int();
  const s = int();
  if (i !== buf.length) throw new Error('trailing bytes');
  return [r, s];
}

function verifyEcdsa(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const jwk = key.export({ format: 'jwk' });
  const curve = jwk.crv === undefined ? undefined : CURVES[jwk.crv];
  if (curve === undefined || jwk.x === undefined || jwk.y === undefined) return false;
  const { p, n } = curve;
  const [r, s] = parseSignature(signature, curve.bytes);
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const qx = toBig(Buffer.from(jwk.x, 'base64url'));
  const qy = toBig(Buffer.from(jwk.y, 'base64url'));
  if (mod(qy * qy - (qx * qx * qx - 3n * qx + curve.b), p) !== 0n) return false; // Q on the curve
  // SEC 1 §4.1.4 step 5: the leftmost bits of the hash, as many as n has.
  let e = toBig(digest);
  const excess = digest.length * 8 - n.toString(2).length;
  if (excess > 0) e >>= BigInt(excess);
  const w = inverse(s, n);
  const X = twoScalarMul(mod(e * w, n), [curve.gx, curve.gy, 1n], mod(r * w, n), [qx, qy, 1n], p);
  if (X === null) return false;
  const zi = inverse(X[2], p);
  return mod(X[0] * zi * zi, p) % n === r;
}

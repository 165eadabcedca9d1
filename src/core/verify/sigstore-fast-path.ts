/**
 * sigstore-js without re-encoding: the same checks, over the bytes that were parsed.
 *
 * @sigstore/core parses a certificate into an ASN.1 tree and forgets its bytes; sigstore-js
 * then re-encodes whole certificates to compare them (`X509Certificate.equals`, in path
 * building and de-duplication), re-encodes the TBS for every signature check, re-verifies the
 * whole path to the self-signed root of every candidate CA on each call (three P-384
 * signatures for a Fulcio leaf), and clones, re-parses and re-encodes the leaf to check its
 * SCT (docs/benchmarks.md#verify). This module, imported once by the bundle verifier, makes
 * the library keep the DER a certificate was parsed from and replaces, in place:
 *
 * - `X509Certificate.equals`: the parsed DER bytes compared (the re-encodings of DER input
 *   are those bytes);
 * - `X509Certificate.verify`: its result cached per (certificate DER, issuer DER), so a
 *   trusted intermediate's signature by its root, and the root's own, are checked once per
 *   process, and a cold leaf costs one P-384 signature (by the intermediate);
 * - `verifySCTs` (@sigstore/verify): the RFC 6962 §3.2 precertificate TBS cut out of the
 *   leaf's DER (the SCT extension and three lengths) instead of clone, re-parse and
 *   re-encode; its result cached per (leaf DER, issuer DER, trusted CT logs);
 * - `verifyCheckpoint` (@sigstore/verify): its result cached per (signed checkpoint text,
 *   trusted logs that may sign it), i.e. per log, size and root hash.
 *
 * Each replacement computes what the library computes on DER input (bundle certificates are
 * refused unless strict DER before sigstore-js sees them: certificate-chain.ts); each is checked
 * against the library's own function in test/unit/verify/sigstore-fast-path.test.ts. Every cache
 * holds a pure function's result under everything it depends on, is bounded, and is off with
 * SLSA_GATE_VERIFY_CACHE=off (verify-cache.ts). These are small changes the library could make
 * itself (keep the parsed DER; build the precertificate from it); until it does they live here,
 * as the DER encoder does (asn1-der-encoding.ts).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ASN1Obj, crypto as coreCrypto, X509Certificate } from '@sigstore/core';
import sctModule from '@sigstore/verify/dist/key/sct.js';
import checkpointModule from '@sigstore/verify/dist/tlog/checkpoint.js';
import { VerificationError } from '@sigstore/verify';
import { derLength } from './asn1-der-encoding.ts';
import { cached, LruCache, verifyCachesEnabled } from './verify-cache.ts';

type Checkpoint = ReturnType<typeof checkpointModule.verifyCheckpoint>;
type CheckpointEntry = Parameters<typeof checkpointModule.verifyCheckpoint>[0];
type TLogAuthority = Parameters<typeof checkpointModule.verifyCheckpoint>[1][number];
type CTLogAuthority = Parameters<typeof sctModule.verifySCTs>[2][number];

/** The library's functions, kept for the equivalence tests and for input this module does not handle. */
export const library = {
  parse: X509Certificate.parse.bind(X509Certificate),
  equals: X509Certificate.prototype.equals,
  verify: X509Certificate.prototype.verify,
  clone: X509Certificate.prototype.clone,
  toOID: ASN1Obj.prototype.toOID,
  createPublicKey: coreCrypto.createPublicKey,
  verifySCTs: sctModule.verifySCTs,
  verifyCheckpoint: checkpointModule.verifyCheckpoint,
};

// ---------------------------------------------------------------------------------------------
// The DER a certificate was parsed from.

/** Certificate → the DER bytes it was parsed from (absent for clones, whose tree the library edits). */
const parsedDer = new WeakMap<X509Certificate, Buffer>();
const derDigests = new WeakMap<X509Certificate, string>();
const issuerKeys = new WeakMap<X509Certificate, KeyObject>();

/** The DER `cert` was parsed from, if it is known and its tree is the library's unedited parse. */
export function derOf(cert: X509Certificate): Buffer | undefined {
  return parsedDer.get(cert);
}

/** sha256 of the parsed DER, once per certificate object. */
function digestOf(cert: X509Certificate, der: Buffer): string {
  let digest = derDigests.get(cert);
  if (digest === undefined) {
    digest = createHash('sha256').update(der).digest('base64');
    derDigests.set(cert, digest);
  }
  return digest;
}

X509Certificate.parse = function parse(cert: Parameters<typeof library.parse>[0]): X509Certificate {
  // The library's ASN.1 reader tries every OCTET STRING as nested DER and swallows the error
  // when it is not (asn1/obj.js parseStream): an extension value such as the SCT list throws
  // once per parse. Those errors are caught inside the parse and their stacks never read, so
  // none is captured; an error that leaves the parse keeps its type and message.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let parsed: X509Certificate;
  try {
    parsed = library.parse(cert);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (typeof cert !== 'string') parsedDer.set(parsed, cert);
  return parsed;
};

X509Certificate.prototype.clone = function clone(this: X509Certificate): X509Certificate {
  const copy = library.clone.call(this);
  // The SCT check removes an extension from the clone's tree: its parsed bytes no longer describe it.
  parsedDer.delete(copy);
  return copy;
};

X509Certificate.prototype.equals = function equals(this: X509Certificate, other: X509Certificate): boolean {
  const a = parsedDer.get(this);
  const b = parsedDer.get(other);
  return a !== undefined && b !== undefined ? a.equals(b) : library.equals.call(this, other);
};

/** ASN.1 node → its OBJECT IDENTIFIER as text: extensions are looked up by OID many times per certificate. */
const oids = new WeakMap<ASN1Obj, string>();

ASN1Obj.prototype.toOID = function toOID(this: ASN1Obj): string {
  let oid = oids.get(this);
  if (oid === undefined) {
    oid = library.toOID.call(this);
    oids.set(this, oid);
  }
  return oid;
};

// ---------------------------------------------------------------------------------------------
// Certificate signatures.

/** (certificate DER digest, issuer DER digest) → whether the certificate's signature verifies under the issuer's key. */
const signatureResults = new LruCache<string, boolean>(4096);

function issuerKey(issuer: X509Certificate): KeyObject {
  let key = issuerKeys.get(issuer);
  if (key === undefined) {
    key = createPublicKey({ key: issuer.publicKey, format: 'der', type: 'spki' });
    issuerKeys.set(issuer, key);
  }
  return key;
}

X509Certificate.prototype.verify = function verify(
  this: X509Certificate,
  issuerCertificate?: X509Certificate,
): boolean {
  const issuer = issuerCertificate ?? this;
  const der = parsedDer.get(this);
  const issuerDer = parsedDer.get(issuer);
  if (der === undefined || issuerDer === undefined) return library.verify.call(this, issuerCertificate);
  const key = `${digestOf(this, der)} ${digestOf(issuer, issuerDer)}`;
  return cached(signatureResults, key, () =>
    // X509Certificate.verify of @sigstore/core, with the issuer's key object built once per certificate.
    coreCrypto.verify(
      this.tbsCertificate.toDER(),
      issuerKey(issuer),
      this.signatureValue,
      this.signatureAlgorithm,
    ),
  );
};

// ---------------------------------------------------------------------------------------------
// The signing certificate's key.

/** SubjectPublicKeyInfo DER (as latin1 text) → the key object OpenSSL built when it parsed the certificate. */
const certificateKeys = new LruCache<string, KeyObject>(64);

/** The SubjectPublicKeyInfo element of a certificate's DER (RFC 5280 §4.1: after version, serial, signature, issuer, validity, subject). */
function spkiOf(der: Buffer): Buffer | undefined {
  const certificate = elementAt(der, 0, der.length);
  const tbs = certificate && elementAt(der, certificate.contents, certificate.end);
  const fields = tbs && childrenOf(der, tbs);
  const spki = fields?.[fields[0]?.tag === 0xa0 ? 6 : 5];
  return spki && der.subarray(spki.start, spki.end);
}

/**
 * Keeps the key node:crypto parsed with a bundle certificate (certificate-chain.ts parses each
 * one strictly), so that sigstore-js's `createPublicKey` of the same SubjectPublicKeyInfo bytes
 * returns it instead of decoding them again.
 */
export function rememberCertificateKey(der: Buffer, key: KeyObject): void {
  const spki = spkiOf(der);
  if (spki !== undefined && verifyCachesEnabled()) certificateKeys.set(spki.toString('latin1'), key);
}

(coreCrypto as { createPublicKey: typeof library.createPublicKey }).createPublicKey =
  function createPublicKey(key, type = 'spki') {
    if (typeof key !== 'string' && type === 'spki' && verifyCachesEnabled()) {
      const known = certificateKeys.get(key.toString('latin1'));
      if (known !== undefined) return known;
    }
    return library.createPublicKey(key, type);
  };

// ---------------------------------------------------------------------------------------------
// Signed certificate timestamps (RFC 6962 §3.2).

/** A DER element: its tag, where it starts, where its contents start, where it ends. */
interface Element {
  tag: number;
  start: number;
  contents: number;
  end: number;
}

/** The element at `at` (definite lengths, as DER has); undefined when the bytes do not hold one. */
function elementAt(der: Buffer, at: number, limit: number): Element | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  let length = der[at + 1]!;
  let contents = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || contents + octets > limit) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contents + i]!;
    contents += octets;
  }
  const end = contents + length;
  return end <= limit ? { tag, start: at, contents, end } : undefined;
}

/** The elements directly inside `parent`. */
function childrenOf(der: Buffer, parent: Element): Element[] | undefined {
  const children: Element[] = [];
  for (let at = parent.contents; at < parent.end;) {
    const child = elementAt(der, at, parent.end);
    if (child === undefined) return undefined;
    children.push(child);
    at = child.end;
  }
  return children;
}

const SEQUENCE = 0x30;
const EXTENSIONS = 0xa3; // [3] EXPLICIT Extensions (RFC 5280 §4.1)
/** DER of OBJECT IDENTIFIER 1.3.6.1.4.1.11129.2.4.2 (RFC 6962 §3.3, embedded SCT list). */
const SCT_OID = Buffer.from('060a2b06010401d679020402', 'hex');

/** `tag`, the DER length of `contents`, and `contents`. */
function wrap(tag: number, contents: Buffer[]): Buffer[] {
  const length = contents.reduce((n, b) => n + b.length, 0);
  return [Buffer.of(tag), derLength(length), ...contents];
}

/**
 * The precertificate TBS of a leaf (RFC 6962 §3.2: the TBSCertificate without the embedded
 * SCT list extension), cut out of the leaf's DER: the bytes around that extension, with the
 * lengths of the extension list, the [3] wrapper and the TBS rewritten. Undefined when the
 * leaf has no SCT extension, or when it is its only extension (the library's re-encoding of an
 * emptied list differs; that case goes to the library).
 */
export function precertificateTbs(der: Buffer): Buffer | undefined {
  const certificate = elementAt(der, 0, der.length);
  const tbs = certificate && elementAt(der, certificate.contents, certificate.end);
  const fields = tbs && childrenOf(der, tbs);
  const wrapper = fields?.find((f) => f.tag === EXTENSIONS);
  const list = wrapper && elementAt(der, wrapper.contents, wrapper.end);
  const extensions = list?.tag === SEQUENCE ? childrenOf(der, list) : undefined;
  const sct = extensions?.find((e) => {
    const oid = elementAt(der, e.contents, e.end);
    return oid !== undefined && der.subarray(oid.start, oid.end).equals(SCT_OID);
  });
  if (!tbs || !wrapper || !list || !extensions || !sct || extensions.length === 1) return undefined;
  const kept = [der.subarray(list.contents, sct.start), der.subarray(sct.end, list.end)];
  return Buffer.concat(
    wrap(SEQUENCE, [
      der.subarray(tbs.contents, wrapper.start),
      ...wrap(EXTENSIONS, wrap(SEQUENCE, kept)),
      der.subarray(wrapper.end, tbs.end),
    ]),
  );
}

/** Trusted CT logs (their array, one per trust material) → (leaf digest, issuer digest) → the logs whose SCTs verified. */
const sctResults = new WeakMap<readonly CTLogAuthority[], LruCache<string, Buffer[]>>();
const issuerKeyHashes = new WeakMap<X509Certificate, Buffer>();

function sctCacheOf(ctlogs: readonly CTLogAuthority[]): LruCache<string, Buffer[]> {
  let cache = sctResults.get(ctlogs);
  if (cache === undefined) {
    cache = new LruCache(4096);
    sctResults.set(ctlogs, cache);
  }
  return cache;
}

/** sha256 of the issuer's SubjectPublicKeyInfo (RFC 6962 §3.2 issuer_key_hash), once per issuer. */
function issuerKeyHash(issuer: X509Certificate): Buffer {
  let hash = issuerKeyHashes.get(issuer);
  if (hash === undefined) {
    hash = createHash('sha256').update(issuer.publicKey).digest();
    issuerKeyHashes.set(issuer, hash);
  }
  return hash;
}

/** The library's verifySCTs (key/sct.js) with the precertificate cut from the leaf's DER. */
function verifySCTs(cert: X509Certificate, issuer: X509Certificate, ctlogs: CTLogAuthority[]): Buffer[] {
  const der = parsedDer.get(cert);
  const issuerDer = parsedDer.get(issuer);
  const tbs = der && precertificateTbs(der);
  if (der === undefined || issuerDer === undefined || tbs === undefined) {
    return library.verifySCTs(cert, issuer, ctlogs);
  }
  const key = `${digestOf(cert, der)} ${digestOf(issuer, issuerDer)}`;
  return cached(sctCacheOf(ctlogs), key, () => {
    const timestamps = cert.extSCT?.signedCertificateTimestamps ?? [];
    const length = Buffer.of(tbs.length >> 16, (tbs.length >> 8) & 0xff, tbs.length & 0xff);
    const preCert = Buffer.concat([issuerKeyHash(issuer), length, tbs]);
    return timestamps.map((sct) => {
      // trust/filter.js filterTLogAuthorities: the log the SCT names, valid when it was issued.
      const when = sct.datetime;
      const verified = ctlogs.some(
        (log) =>
          log.logID.equals(sct.logID) &&
          log.validFor.start <= when &&
          when <= log.validFor.end &&
          sct.verify(preCert, log.publicKey),
      );
      if (!verified) {
        throw new VerificationError({ code: 'CERTIFICATE_ERROR', message: 'SCT verification failed' });
      }
      return sct.logID;
    });
  });
}
sctModule.verifySCTs = verifySCTs;

// ---------------------------------------------------------------------------------------------
// Checkpoints (signed notes).

/** Checkpoint text and the logs that may sign it → the checkpoint they signed. */
const checkpointResults = new LruCache<string, Checkpoint>(4096);
const authorityIds = new WeakMap<TLogAuthority, number>();
let nextAuthorityId = 0;

/** A number per trusted log object: trust material is built once and never edited, so the object stands for its key, id and validity. */
function authorityId(log: TLogAuthority): number {
  let id = authorityIds.get(log);
  if (id === undefined) {
    id = nextAuthorityId++;
    authorityIds.set(log, id);
  }
  return id;
}

checkpointModule.verifyCheckpoint = function verifyCheckpoint(
  entry: CheckpointEntry,
  tlogs: TLogAuthority[],
): Checkpoint {
  const envelope = entry.inclusionProof.checkpoint.envelope;
  const key = `${tlogs.map(authorityId).join(',')}\n${envelope}`;
  return cached(checkpointResults, key, () => library.verifyCheckpoint(entry, tlogs));
};

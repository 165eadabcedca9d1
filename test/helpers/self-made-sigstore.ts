/**
 * A self-made Sigstore instance that issues keyless bundles the way the public-good one does,
 * each with its own leaf and log entry: a P-384 root and intermediate CA (Fulcio's shape), a
 * CT log that embeds an SCT in every leaf (RFC 6962 §3.3), and a Rekor v1 log that signs each
 * `dsse` entry's SET and a checkpoint of its own tree size (C2SP signed note, RFC 6962 §2.1
 * inclusion proof). Its trusted root names the CAs and both logs, so bundles verify through
 * the same code as real ones. Keys are generated per instance: nothing here is real Sigstore
 * material. Used by the verification bench (scripts/bench-verify.ts) and by the tests that need
 * distinct cold bundles (test/unit/verify/sigstore-fast-path.test.ts).
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// DER (ITU-T X.690), just the types a certificate needs.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return Buffer.of(0x80 | octets.length, ...octets);
}
const tlv = (tag: number, ...contents: Buffer[]): Buffer => {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.of(tag), length(body.length), body]);
};
const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const explicit = (n: number, ...items: Buffer[]) => tlv(0xa0 + n, ...items);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.of(0), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s));
const bool = (v: boolean) => tlv(0x01, Buffer.of(v ? 0xff : 0));
function integer(value: Buffer): Buffer {
  // X.690 §8.3.2: the minimal encoding, so every leading zero octet goes (a random serial
  // starting with two zero octets, one in 65,536, was otherwise not DER).
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  return tlv(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
/** UTCTime (RFC 5280 §4.1.2.5.1: years before 2050). */
function time(date: Date): Buffer {
  const s = date.toISOString();
  return tlv(
    0x17,
    Buffer.from(
      `${s.slice(2, 4)}${s.slice(5, 7)}${s.slice(8, 10)}${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}Z`,
    ),
  );
}
const name = (org: string, cn: string) =>
  seq(set(seq(oid('2.5.4.10'), utf8(org))), set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

const ECDSA_SHA384 = seq(oid('1.2.840.10045.4.3.3'));
const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const keyId = (key: KeyObject) => createHash('sha1').update(spki(key)).digest();

function certificate(tbs: Buffer, issuerKey: KeyObject): Buffer {
  return seq(tbs, ECDSA_SHA384, bits(sign('sha384', tbs, issuerKey)));
}

interface TbsFields {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  key: KeyObject;
  extensions: Buffer[];
}
const tbsCertificate = (f: TbsFields) =>
  seq(
    explicit(0, integer(Buffer.of(2))),
    integer(f.serial),
    ECDSA_SHA384,
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    spki(f.key),
    explicit(3, seq(...f.extensions)),
  );

// ---------------------------------------------------------------------------------------------
// Logs.

const LOG_NAME = 'rekor.self-made.test';
const CT_NAME = 'ct.self-made.test';

function canonicalSet(fields: Record<string, string | number>): Buffer {
  const keys = Object.keys(fields).sort();
  return Buffer.from(`{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(fields[k])}`).join(',')}}`);
}
const leafHash = (body: Buffer) => createHash('sha256').update(Buffer.of(0)).update(body).digest();
const nodeHash = (l: Buffer, r: Buffer) =>
  createHash('sha256').update(Buffer.of(1)).update(l).update(r).digest();

/** An append-only RFC 6962 tree: root hashes and audit paths of any prefix. */
class MerkleTree {
  readonly leaves: Buffer[] = [];
  readonly #memo = new Map<string, Buffer>();

  root(start: number, end: number): Buffer {
    if (end - start === 1) return this.leaves[start]!;
    const key = `${start}:${end}`;
    let hash = this.#memo.get(key);
    if (hash === undefined) {
      const k = splitPoint(end - start);
      hash = nodeHash(this.root(start, start + k), this.root(start + k, end));
      this.#memo.set(key, hash);
    }
    return hash;
  }

  /** RFC 6962 §2.1.1 PATH(m, D[start:end]), leaf to root. */
  path(m: number, start: number, end: number): Buffer[] {
    if (end - start === 1) return [];
    const k = splitPoint(end - start);
    return m < k
      ? [...this.path(m, start, start + k), this.root(start + k, end)]
      : [...this.path(m - k, start + k, end), this.root(start, start + k)];
  }
}
/** The largest power of two smaller than n. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// ---------------------------------------------------------------------------------------------

export interface SelfMadeBundle {
  /** The bundle (v0.3, DSSE, Rekor v1 `dsse` entry with SET, inclusion proof and checkpoint). */
  json: Record<string, unknown>;
  bytes: Buffer;
  /** The artifact's sha256 (hex), the statement's subject. */
  artifactSha256: string;
}

export interface SelfMadeSigstore {
  /** The trusted root naming the CAs and logs (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`). */
  trustedRoot: Record<string, unknown>;
  /** A new bundle: a new leaf key and certificate, a new log entry at the next index, its own checkpoint. */
  issue(artifactSha256: string): SelfMadeBundle;
}

/** A new instance: CA keys and certificates, CT log and transparency log keys. */
export function selfMadeSigstore(now = new Date()): SelfMadeSigstore {
  const p384 = () => generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const root = p384();
  const intermediate = p384();
  const ct = p256();
  const rekor = p256();
  const ctId = createHash('sha256').update(spki(ct.publicKey)).digest();
  const rekorId = createHash('sha256').update(spki(rekor.publicKey)).digest();
  const start = new Date(now.getTime() - 86_400_000);
  const end = new Date(now.getTime() + 30 * 86_400_000);

  const rootName = name('self-made.test', 'self-made root');
  const intermediateName = name('self-made.test', 'self-made intermediate');
  const caExtensions = (key: KeyObject, issuerKey: KeyObject, pathLen?: number) => [
    extension('2.5.29.15', true, bits(Buffer.of(0x06))), // keyCertSign, cRLSign
    extension(
      '2.5.29.19',
      true,
      seq(bool(true), ...(pathLen === undefined ? [] : [integer(Buffer.of(pathLen))])),
    ),
    extension('2.5.29.14', false, octets(keyId(key))),
    extension('2.5.29.35', false, seq(tlv(0x80, keyId(issuerKey)))),
  ];
  const rootCert = certificate(
    tbsCertificate({
      serial: Buffer.of(1),
      issuer: rootName,
      subject: rootName,
      notBefore: start,
      notAfter: end,
      key: root.publicKey,
      extensions: caExtensions(root.publicKey, root.publicKey, 1),
    }),
    root.privateKey,
  );
  const intermediateCert = certificate(
    tbsCertificate({
      serial: Buffer.of(2),
      issuer: rootName,
      subject: intermediateName,
      notBefore: start,
      notAfter: end,
      key: intermediate.publicKey,
      extensions: caExtensions(intermediate.publicKey, root.publicKey, 0),
    }),
    root.privateKey,
  );
  const intermediateKeyHash = createHash('sha256').update(spki(intermediate.publicKey)).digest();

  const validFor = { start: start.toISOString() };
  const logEntry = (id: Buffer, key: KeyObject, url: string) => ({
    baseUrl: `https://${url}`,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: spki(key).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
    logId: { keyId: id.toString('base64') },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [logEntry(rekorId, rekor.publicKey, LOG_NAME)],
    certificateAuthorities: [
      {
        subject: { organization: 'self-made.test', commonName: 'self-made intermediate' },
        uri: 'https://ca.self-made.test',
        certChain: {
          certificates: [
            { rawBytes: intermediateCert.toString('base64') },
            { rawBytes: rootCert.toString('base64') },
          ],
        },
        validFor,
      },
    ],
    ctlogs: [logEntry(ctId, ct.publicKey, CT_NAME)],
    timestampAuthorities: [],
  };

  const tree = new MerkleTree();
  let serial = 1000;

  /** A Fulcio-like leaf for `key`, valid ten minutes around `at`, with an embedded SCT. */
  function leafCertificate(key: KeyObject, at: Date): Buffer {
    const fields = {
      serial: createHash('sha256').update(String(serial++)).update(spki(key)).digest().subarray(0, 16),
      issuer: intermediateName,
      subject: seq(),
      notBefore: new Date(at.getTime() - 300_000),
      notAfter: new Date(at.getTime() + 300_000),
      key,
    };
    const extensions = [
      extension('2.5.29.15', true, bits(Buffer.of(0x80))), // digitalSignature
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.3'))), // codeSigning
      extension('2.5.29.14', false, octets(keyId(key))),
      extension('2.5.29.35', false, seq(tlv(0x80, keyId(intermediate.publicKey)))),
      extension(
        '2.5.29.17',
        true,
        seq(
          tlv(
            0x86,
            Buffer.from('https://github.com/self-made/repo/.github/workflows/build.yml@refs/heads/main'),
          ),
        ),
      ),
      extension('1.3.6.1.4.1.57264.1.1', false, Buffer.from('https://token.actions.githubusercontent.com')),
      extension('1.3.6.1.4.1.57264.1.8', false, utf8('https://token.actions.githubusercontent.com')),
    ];
    // RFC 6962 §3.2: the CT log signs the precertificate TBS (the TBS without the SCT list).
    const precert = tbsCertificate({ ...fields, extensions });
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64BE(BigInt(at.getTime()));
    const signed = Buffer.concat([
      Buffer.of(0, 0), // v1, certificate_timestamp
      timestamp,
      Buffer.of(0, 1), // precert_entry
      intermediateKeyHash,
      length24(precert.length),
      precert,
      Buffer.of(0, 0), // no extensions
    ]);
    const signature = sign('sha256', signed, ct.privateKey);
    const sct = Buffer.concat([
      Buffer.of(0),
      ctId,
      timestamp,
      Buffer.of(0, 0),
      Buffer.of(4, 3), // sha256, ecdsa
      uint16(signature.length),
      signature,
    ]);
    const list = Buffer.concat([uint16(sct.length + 2), uint16(sct.length), sct]);
    const sctExtension = extension('1.3.6.1.4.1.11129.2.4.2', false, octets(list));
    return certificate(
      tbsCertificate({ ...fields, extensions: [...extensions, sctExtension] }),
      intermediate.privateKey,
    );
  }

  function issue(artifactSha256: string): SelfMadeBundle {
    const signer = p256();
    const at = new Date(now.getTime() - 60_000);
    const leaf = leafCertificate(signer.publicKey, at);
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'artifact', digest: { sha256: artifactSha256 } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: { buildType: 'https://self-made.test/build', externalParameters: {} },
        runDetails: { builder: { id: 'https://self-made.test/builder' } },
      },
    };
    const payload = Buffer.from(JSON.stringify(statement));
    const payloadType = 'application/vnd.in-toto+json';
    const pae = Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `);
    const dsseSignature = sign('sha256', Buffer.concat([pae, payload]), signer.privateKey);
    const envelope = {
      payload: payload.toString('base64'),
      payloadType,
      signatures: [{ sig: dsseSignature.toString('base64') }],
    };
    const pem = `-----BEGIN CERTIFICATE-----\n${leaf.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: {
            algorithm: 'sha256',
            value: createHash('sha256').update(JSON.stringify(envelope)).digest('hex'),
          },
          payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
          signatures: [
            { signature: dsseSignature.toString('base64'), verifier: Buffer.from(pem).toString('base64') },
          ],
        },
      }),
    );
    const index = tree.leaves.length;
    tree.leaves.push(leafHash(body));
    const size = index + 1;
    const integratedTime = Math.floor(at.getTime() / 1000);
    const set = sign(
      'sha256',
      canonicalSet({
        body: body.toString('base64'),
        integratedTime,
        logID: rekorId.toString('hex'),
        logIndex: index,
      }),
      rekor.privateKey,
    );
    const rootHash = tree.root(0, size);
    const note = `${LOG_NAME} - 1\n${size}\n${rootHash.toString('base64')}\n`;
    const noteSignature = sign('sha256', Buffer.from(note), rekor.privateKey);
    const json = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        certificate: { rawBytes: leaf.toString('base64') },
        tlogEntries: [
          {
            logIndex: String(index),
            logId: { keyId: rekorId.toString('base64') },
            kindVersion: { kind: 'dsse', version: '0.0.1' },
            integratedTime: String(integratedTime),
            inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
            inclusionProof: {
              logIndex: String(index),
              rootHash: rootHash.toString('base64'),
              treeSize: String(size),
              hashes: tree.path(index, 0, size).map((h) => h.toString('base64')),
              checkpoint: {
                envelope: `${note}\n\u2014 ${LOG_NAME} ${Buffer.concat([rekorId.subarray(0, 4), noteSignature]).toString('base64')}\n`,
              },
            },
            canonicalizedBody: body.toString('base64'),
          },
        ],
      },
      dsseEnvelope: envelope,
    };
    return { json, bytes: Buffer.from(JSON.stringify(json)), artifactSha256 };
  }

  return { trustedRoot, issue };
}

function uint16(n: number): Buffer {
  return Buffer.of(n >> 8, n & 0xff);
}
function length24(n: number): Buffer {
  return Buffer.of(n >> 16, (n >> 8) & 0xff, n & 0xff);
}

/**
 * Builds VerifiedAttestation values straight from the real corpus files, for unit tests
 * of the policy layer. Signature verification is the signature layer's job and is not
 * done here: these tests only exercise what policy does with material that verified.
 * The signer is read from the certificate in the bundle/envelope (SAN and the Fulcio
 * extensions, by a small DER walk) or, for key signatures, from the key id.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IntotoStatement } from '../../../src/core/formats/intoto/statement.ts';
import type { ArtifactRef, Signer, VerifiedAttestation } from '../../../src/core/model.ts';
import { parseStatement } from '../../../src/core/verify/statement.ts';

export const CORPUS_DIR = new URL('../../fixtures/corpus/', import.meta.url).pathname;

/** One corpus case's expected.json (fields used by the policy tests). */
export interface CorpusCase {
  source: string;
  case: string;
  expected: 'pass' | 'fail';
  why: string;
  failing_layer?: string;
  files: string[];
  artifact_digest: string | null;
  expected_builder_id: string | null;
  expected_source_uri: string | null;
  extra_flags: Record<string, unknown>;
}

/** Every case listed in the corpus INDEX.json. */
export function corpusIndex(): CorpusCase[] {
  return JSON.parse(readFileSync(join(CORPUS_DIR, 'INDEX.json'), 'utf8')) as CorpusCase[];
}

/** A case by `source/case`. */
export function corpusCase(id: string): CorpusCase {
  const found = corpusIndex().find((c) => `${c.source}/${c.case}` === id);
  if (found === undefined) throw new Error(`no corpus case ${id}`);
  return found;
}

/** Key ids of the npm registry's attestation keys (corpus _trust/npm-registry-keys.json, keyUsage npm:attestations). */
const NPM_ATTESTATION_KEY_IDS = new Set(
  (
    JSON.parse(readFileSync(join(CORPUS_DIR, '_trust/npm-registry-keys.json'), 'utf8')) as {
      keys: Array<{ keyId: string; keyUsage: string }>;
    }
  ).keys
    .filter((k) => k.keyUsage === 'npm:attestations')
    .map((k) => k.keyId),
);

// Fulcio certificate extensions, OID 1.3.6.1.4.1.57264.1.<n> (fulcio docs/oid-info.md).
const FULCIO_NAMES: Record<number, string> = {
  2: 'githubWorkflowTrigger',
  3: 'githubWorkflowSha',
  4: 'githubWorkflowName',
  5: 'githubWorkflowRepository',
  6: 'githubWorkflowRef',
  9: 'buildSignerURI',
  10: 'buildSignerDigest',
  11: 'runnerEnvironment',
  12: 'sourceRepositoryURI',
  13: 'sourceRepositoryDigest',
  14: 'sourceRepositoryRef',
  15: 'sourceRepositoryIdentifier',
  16: 'sourceRepositoryOwnerURI',
  17: 'sourceRepositoryOwnerIdentifier',
  18: 'buildConfigURI',
  19: 'buildConfigDigest',
  20: 'buildTrigger',
  21: 'runInvocationURI',
  22: 'sourceRepositoryVisibilityAtSigning',
};

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, offset: number): Tlv {
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  return { tag, start, end: start + len };
}

function children(buf: Buffer, tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = tlv.start; at < tlv.end;) {
    const child = readTlv(buf, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

function oidString(bytes: Buffer): string {
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let value = 0;
  for (const b of bytes.subarray(1)) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** Issuer and named Fulcio extensions of a DER certificate. */
export function fulcioExtensions(der: Buffer): { issuer?: string; extensions: Record<string, string> } {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0]!;
  const extsWrapper = children(der, tbs).find((t) => t.tag === 0xa3);
  const extensions: Record<string, string> = {};
  let issuerV1: string | undefined;
  let issuerV2: string | undefined;
  if (extsWrapper === undefined) return { extensions };
  const seq = children(der, extsWrapper)[0]!;
  for (const ext of children(der, seq)) {
    const parts = children(der, ext);
    const oid = oidString(der.subarray(parts[0]!.start, parts[0]!.end));
    const valueTlv = parts[parts.length - 1]!;
    const raw = der.subarray(valueTlv.start, valueTlv.end);
    const prefix = '1.3.6.1.4.1.57264.1.';
    if (!oid.startsWith(prefix)) continue;
    const n = Number(oid.slice(prefix.length));
    // .1–.6 hold raw strings; .8 onwards hold a DER UTF8String.
    const text = n >= 8 ? raw.subarray(readTlv(raw, 0).start).toString('utf8') : raw.toString('utf8');
    if (n === 1) issuerV1 = text;
    else if (n === 8) issuerV2 = text;
    else if (FULCIO_NAMES[n] !== undefined) extensions[FULCIO_NAMES[n]] = text;
  }
  const issuer = issuerV2 ?? issuerV1;
  return issuer === undefined ? { extensions } : { issuer, extensions };
}

/** Signer facts from a DER certificate. */
export function certificateSigner(der: Buffer): Signer {
  const x509 = new X509Certificate(der);
  const san = (x509.subjectAltName ?? '').split(', ')[0] ?? '';
  const identity = san.replace(/^(URI|email):/, '');
  const { issuer, extensions } = fulcioExtensions(der);
  const signer: Signer = { kind: 'certificate', identity, extensions, trustedBy: 'test-fixture' };
  if (issuer !== undefined) signer.issuer = issuer;
  return signer;
}

interface Envelope {
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid?: string; sig: string; cert?: string }>;
}

function attestation(
  env: Envelope,
  signer: Signer,
  raw: string,
  origin: string,
  format: VerifiedAttestation['format'],
): VerifiedAttestation {
  let statement: IntotoStatement | undefined;
  try {
    // As the signature layer does: the statement is parsed once, from exactly the payload bytes.
    statement = parseStatement(env.payloadType, Buffer.from(env.payload, 'base64'), origin);
  } catch {
    statement = undefined; // not an in-toto statement (e.g. a DSSE over plain text)
  }
  return {
    digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    origin,
    format,
    payloadType: env.payloadType,
    payload: env.payload,
    ...(statement === undefined ? {} : { statement }),
    predicateType: typeof statement?.predicateType === 'string' ? statement.predicateType : undefined,
    signer,
    transparency: { kind: 'rekor-v1', inclusionProof: true, signedTimestamps: 0 },
    raw: Buffer.from(raw).toString('base64'),
  };
}

interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: Array<{ rawBytes: string }> };
    publicKey?: { hint: string };
  };
  dsseEnvelope?: Envelope;
}

function fromBundle(bundle: BundleJson, raw: string, origin: string): VerifiedAttestation | undefined {
  // A message signature signs the artifact itself: no statement, payloadType `message-signature`.
  bundle.dsseEnvelope ??= { payloadType: 'message-signature', payload: '', signatures: [] };
  const vm = bundle.verificationMaterial;
  const certB64 = vm.certificate?.rawBytes ?? vm.x509CertificateChain?.certificates[0]?.rawBytes;
  const keyId = vm.publicKey?.hint ?? bundle.dsseEnvelope.signatures[0]?.keyid ?? '';
  const signer: Signer =
    certB64 !== undefined
      ? certificateSigner(Buffer.from(certB64, 'base64'))
      : {
          kind: 'key',
          keyId,
          extensions: {},
          // A hint naming one of the npm registry's attestation keys, or any other key id:
          // reported as the signature layer reports a signature that npm key, or the configured
          // public key of that id, verified (this helper does not verify signatures).
          trustedBy: NPM_ATTESTATION_KEY_IDS.has(keyId) ? `npm-registry:${keyId}` : configuredKey(keyId),
        };
  const version = /version=(0\.\d)|v(0\.\d)\+json/.exec(bundle.mediaType);
  const v = version?.[1] ?? version?.[2] ?? '0.3';
  return attestation(
    bundle.dsseEnvelope,
    signer,
    raw,
    origin,
    `sigstore-bundle-v${v}` as VerifiedAttestation['format'],
  );
}

/** `Signer.trustedBy` of a signature the configured public key of this id verified (trust-material.ts). */
function configuredKey(keyId: string): string {
  return keyId === '' ? 'public-key' : `public-key:${keyId}`;
}

function fromEnvelope(
  env: Envelope,
  raw: string,
  origin: string,
  format: VerifiedAttestation['format'],
): VerifiedAttestation {
  const sig = env.signatures[0];
  const signer: Signer =
    sig?.cert !== undefined && sig.cert !== ''
      ? certificateSigner(new X509Certificate(sig.cert).raw)
      : { kind: 'key', keyId: sig?.keyid ?? '', extensions: {}, trustedBy: configuredKey(sig?.keyid ?? '') };
  return attestation(env, signer, raw, origin, format);
}

/** Every attestation in a file of the corpus, as the signature layer would hand it over. */
export function loadAttestations(caseId: string, file: string): VerifiedAttestation[] {
  const path = join(CORPUS_DIR, caseId, file);
  const text = readFileSync(path, 'utf8');
  const out: VerifiedAttestation[] = [];
  let docs: Array<{ raw: string; value: Record<string, unknown> }>;
  try {
    docs = [{ raw: text, value: JSON.parse(text) as Record<string, unknown> }];
  } catch {
    docs = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => ({ raw: l, value: JSON.parse(l) as Record<string, unknown> }));
  }
  docs.forEach(({ raw, value }, i) => {
    const origin = `${caseId}/${file}[${i}]`;
    if (Array.isArray(value.attestations)) {
      (value.attestations as Array<{ bundle: BundleJson }>).forEach((a, j) => {
        const att = fromBundle(a.bundle, JSON.stringify(a.bundle), `${caseId}/${file}#attestations[${j}]`);
        if (att) out.push({ ...att, format: 'npm-attestations' });
      });
    } else if (value.provenance_summary !== undefined) {
      const summary = value.provenance_summary as { provenance: Array<{ envelope: Envelope }> };
      summary.provenance.forEach((p, j) =>
        out.push(
          fromEnvelope(p.envelope, JSON.stringify(p.envelope), `${origin}#provenance[${j}]`, 'gcb-kms'),
        ),
      );
    } else if (typeof value.mediaType === 'string') {
      const att = fromBundle(value as unknown as BundleJson, raw, origin);
      if (att) out.push(att);
    } else if (typeof value.payload === 'string') {
      out.push(fromEnvelope(value as unknown as Envelope, raw, origin, 'dsse-key'));
    }
  });
  return out;
}

/** Every attestation of a case (all its attestation files). */
export function caseAttestations(c: CorpusCase): VerifiedAttestation[] {
  const id = `${c.source}/${c.case}`;
  return c.files
    .filter(
      (f) =>
        /\.(json|jsonl|slsa)$/.test(f) && !f.endsWith('trusted_root.json') && !f.startsWith('oci-layout'),
    )
    .flatMap((f) => loadAttestations(id, f));
}

/**
 * The case's artifact. The corpus gives its sha256; npm subjects carry only sha512, which
 * the signature layer computes from the tarball: here it is taken from the verified subject.
 */
export function caseArtifact(c: CorpusCase, attestations: VerifiedAttestation[]): ArtifactRef {
  const sha256 = (c.artifact_digest ?? '0'.repeat(64)).replace(/^sha256:/, '');
  const sha512 = attestations
    .flatMap((a) =>
      ((a.statement?.subject ?? []) as Array<{ digest: Record<string, string> }>).map((s) => s.digest.sha512),
    )
    .find((d) => d !== undefined);
  return { digests: sha512 === undefined ? { sha256 } : { sha256, sha512 } };
}

/** Test edits reach deep into upstream JSON; typing every path would add nothing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StatementJson = Record<string, any>;

/**
 * A copy of a verified attestation whose statement (and payload bytes) `edit` changed:
 * stands for a builder that wrote different predicate fields over a valid signature.
 */
export function withStatement(
  att: VerifiedAttestation,
  edit: (statement: StatementJson) => void,
): VerifiedAttestation {
  const edited = structuredClone(att.statement ?? {}) as Record<string, unknown>;
  edit(edited);
  const bytes = Buffer.from(JSON.stringify(edited));
  // Parsed as the signature layer parses a verified payload: a malformed statement throws its code here.
  const statement = parseStatement(att.payloadType, bytes, att.origin);
  return { ...att, statement, payload: bytes.toString('base64') };
}

/** A copy with other signer facts (e.g. a certificate of a re-created repository). */
export function withSigner(att: VerifiedAttestation, edit: (signer: Signer) => void): VerifiedAttestation {
  const signer = structuredClone(att.signer);
  edit(signer);
  return { ...att, signer };
}

/** The single SLSA provenance attestation of a case. */
export function provenanceOf(caseId: string): VerifiedAttestation {
  const atts = caseAttestations(corpusCase(caseId)).filter((a) =>
    /slsa\.dev\/provenance/.test(a.predicateType ?? ''),
  );
  if (atts.length === 0) throw new Error(`${caseId} has no provenance`);
  return atts[0]!;
}

import { createHash } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { PolicyError, toSignedEntity, VerificationError, Verifier } from '@sigstore/verify';
import * as z from 'zod';
import { GateError, isGateError, type ErrorCode } from '../errors.ts';
import {
  BUNDLE_MEDIA_TYPES,
  MAX_CERTIFICATES,
  MAX_SIGNATURES,
  MAX_TIMESTAMPS,
  MAX_TLOG_ENTRIES,
  SigstoreBundleSchema,
  type BundleVersion,
  type SigstoreBundleJson,
} from '../formats/sigstore/bundle-v1.ts';
import { INTOTO_PAYLOAD_TYPE } from '../formats/intoto/statement.ts';
import type { ArtifactRef, Signer, VerifiedAttestation } from '../model.ts';
import type { TrustMaterial } from '../trust/trust-material.ts';
import { findTrustedKey } from '../trust/trust-material.ts';
import type { AttestationInput } from './attestation-input.ts';
import { certificateIssuer, fulcioExtensions } from './certificate-extensions.ts';
import { checkCertificateChain } from './certificate-chain.ts';
import { verifyPrehashed } from './prehashed-signature.ts';
import { bindStatement, parseStatement } from './statement.ts';
// sigstore-js re-encodes certificates through ASN1Obj.toDER: replace it with the fast encoder first,
// and let it compare, verify and check SCTs over the DER it parsed (sigstore-fast-path.ts).
import './asn1-der-encoding.ts';
import { derOf } from './sigstore-fast-path.ts';

/** What a bundle is verified against. */
export interface BundleVerifyContext {
  artifact: ArtifactRef;
  trust: TrustMaterial;
  /** The artifact bytes, for message-signature bundles (their signature is over the bytes, not a statement). */
  artifactBytes?: Uint8Array;
  /** Bundle v0.2 made the inclusion proof mandatory: a v0.1 bundle with only a signed entry timestamp is refused unless this is set. */
  allowV01WithoutInclusionProof?: boolean;
  /** Verify signature and transparency evidence only, without binding the statement to the artifact (`verify --bundle-only`; never for decisions). */
  signatureOnly?: boolean;
  /** The verifier's clock, for the one check that needs it: no signed time may lie in the future (default: now). */
  now?: Date;
}

/** Tolerated clock difference between the log or TSA and this verifier. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

type BundleInput = Extract<AttestationInput, { form: 'bundle' }>;

// sigstore-js error codes → ours (docs/checklist.md#row-1 to docs/checklist.md#row-9).
const SIGSTORE_CODES: Record<string, ErrorCode> = {
  TLOG_ERROR: 'TLOG_ERROR',
  TLOG_INCLUSION_PROOF_ERROR: 'TLOG_ERROR',
  TLOG_INCLUSION_PROMISE_ERROR: 'TLOG_ERROR',
  TLOG_MISSING_INCLUSION_ERROR: 'TLOG_MISSING',
  TLOG_BODY_ERROR: 'TLOG_BODY_ERROR',
  CERTIFICATE_ERROR: 'CERTIFICATE_ERROR',
  SIGNATURE_ERROR: 'SIGNATURE_ERROR',
  TIMESTAMP_ERROR: 'TIMESTAMP_ERROR',
  NOT_IMPLEMENTED_ERROR: 'BUNDLE_MALFORMED',
  UNTRUSTED_SIGNER_ERROR: 'UNTRUSTED_SIGNER',
};

// Rekor v2 entry types (rekor-tiles): they carry no integrated time, so an RFC 3161 timestamp is required.
function isRekorV2(kind: string, version: string): boolean {
  return (kind === 'dsse' || kind === 'hashedrekord') && version === '0.0.2';
}

function fail(code: ErrorCode, origin: string, message: string, path?: string, cause?: unknown): never {
  throw new GateError(code, `${origin}: ${message}`, {
    cause,
    detail: { origin, ...(path ? { path } : {}) },
  });
}

function causeText(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : '';
}

/** Turn whatever sigstore-js threw into a coded GateError; code-less errors are malformed input. */
function mapSigstoreError(err: unknown, origin: string): GateError {
  if (isGateError(err)) return err;
  if (err instanceof VerificationError || err instanceof PolicyError) {
    let code = SIGSTORE_CODES[err.code] ?? 'SIGNATURE_ERROR';
    if (err.code === 'PUBLIC_KEY_ERROR')
      code = err.message.startsWith('no trusted key') ? 'KEY_UNKNOWN' : 'UNTRUSTED_SIGNER';
    return new GateError(code, `${origin}: ${err.message}${causeText(err)}`, {
      cause: err,
      detail: { origin },
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GateError('BUNDLE_MALFORMED', `${origin}: malformed bundle: ${message}`, {
    cause: err,
    detail: { origin },
  });
}

/** docs/checklist.md#row-25: count before validating or decoding anything. */
function checkLimits(json: unknown, origin: string): void {
  const j = json as {
    verificationMaterial?: {
      tlogEntries?: unknown;
      timestampVerificationData?: { rfc3161Timestamps?: unknown };
      x509CertificateChain?: { certificates?: unknown };
    };
    dsseEnvelope?: { signatures?: unknown };
  };
  const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  const vm = j?.verificationMaterial;
  const limits: Array<[number, number, string]> = [
    [count(vm?.tlogEntries), MAX_TLOG_ENTRIES, '$.verificationMaterial.tlogEntries'],
    [
      count(vm?.timestampVerificationData?.rfc3161Timestamps),
      MAX_TIMESTAMPS,
      '$.verificationMaterial.timestampVerificationData.rfc3161Timestamps',
    ],
    [
      count(vm?.x509CertificateChain?.certificates),
      MAX_CERTIFICATES,
      '$.verificationMaterial.x509CertificateChain.certificates',
    ],
    [count(j?.dsseEnvelope?.signatures), MAX_SIGNATURES, '$.dsseEnvelope.signatures'],
  ];
  for (const [n, max, path] of limits) {
    if (n > max) fail('LIMIT_EXCEEDED', origin, `${path} has ${n} items, more than ${max}`, path);
  }
}

/** proto3 JSON mapping: `null` means the field is absent. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

/** Validate the bundle JSON against our schema and the rules sigstore-js leaves open; returns the version. */
function checkShape(
  json: unknown,
  origin: string,
  ctx: BundleVerifyContext,
): { bundle: SigstoreBundleJson; version: BundleVersion } {
  checkLimits(json, origin);
  const parsed = SigstoreBundleSchema.safeParse(withoutNulls(json));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const path = first
      ? `$${first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`
      : '$';
    fail('BUNDLE_MALFORMED', origin, `invalid Sigstore bundle: ${z.prettifyError(parsed.error)}`, path);
  }
  const bundle = parsed.data;
  const version = (BUNDLE_MEDIA_TYPES as Record<string, BundleVersion>)[bundle.mediaType];
  if (version === undefined) {
    fail(
      'BUNDLE_MALFORMED',
      origin,
      `unknown bundle media type ${JSON.stringify(bundle.mediaType)}`,
      '$.mediaType',
    );
  }
  if ((bundle.dsseEnvelope === undefined) === (bundle.messageSignature === undefined)) {
    fail('BUNDLE_MALFORMED', origin, 'a bundle holds exactly one of dsseEnvelope and messageSignature', '$');
  }
  const vm = bundle.verificationMaterial;
  const keyForms = [vm.publicKey, vm.x509CertificateChain, vm.certificate].filter(
    (v) => v !== undefined,
  ).length;
  if (keyForms !== 1) {
    fail(
      'BUNDLE_MALFORMED',
      origin,
      'verificationMaterial must hold exactly one of publicKey, x509CertificateChain, certificate',
      '$.verificationMaterial',
    );
  }
  // protobuf-specs: v0.3 bundles carry the leaf alone (`certificate`), never a chain.
  if (version === 'v0.3' && vm.x509CertificateChain !== undefined) {
    fail(
      'BUNDLE_MALFORMED',
      origin,
      'a v0.3 bundle must not carry x509CertificateChain',
      '$.verificationMaterial.x509CertificateChain',
    );
  }
  // ...and `certificate` exists from v0.3 on: a v0.1/v0.2 bundle carrying it is not the
  // bundle its media type announces (sigstore-js reads it regardless).
  if (version !== 'v0.3' && vm.certificate !== undefined) {
    fail(
      'BUNDLE_MALFORMED',
      origin,
      `a ${version} bundle must not carry certificate (a v0.3 field); it carries x509CertificateChain`,
      '$.verificationMaterial.certificate',
    );
  }
  const entries = vm.tlogEntries ?? [];
  const rfc3161 = vm.timestampVerificationData?.rfc3161Timestamps?.length ?? 0;
  entries.forEach((entry, i) => {
    const path = `$.verificationMaterial.tlogEntries[${i}]`;
    if (entry.inclusionProof === undefined) {
      // v0.2+ must carry an inclusion proof; a v0.1 bundle with only a SET is accepted on request only.
      if (version !== 'v0.1')
        fail(
          'TLOG_MISSING',
          origin,
          `${version} bundle tlog entry has no inclusion proof`,
          `${path}.inclusionProof`,
        );
      if (!ctx.allowV01WithoutInclusionProof) {
        fail(
          'TLOG_MISSING',
          origin,
          'v0.1 bundle tlog entry has no inclusion proof (allowed only with --allow-v01-without-inclusion-proof)',
          `${path}.inclusionProof`,
        );
      }
      if (entry.inclusionPromise === undefined)
        fail('TLOG_MISSING', origin, 'tlog entry has neither inclusion proof nor promise', path);
    }
    const proof = entry.inclusionProof;
    if (proof !== undefined && !proofMatchesCheckpoint(proof)) {
      fail(
        'TLOG_ERROR',
        origin,
        'inclusion proof rootHash/treeSize differ from its signed checkpoint',
        `${path}.inclusionProof`,
      );
    }
    // Rekor v2 logs are one tree with no signed entry timestamp: the inclusion proof's index is
    // the only signed one, so the entry's own logIndex must be it (else the archive would record
    // an index nothing vouches for). Rekor v1 entries differ here by design (global index vs
    // shard index), and their SET signs the global one.
    if (
      isRekorV2(entry.kindVersion.kind, entry.kindVersion.version) &&
      proof !== undefined &&
      String(proof.logIndex) !== String(entry.logIndex)
    ) {
      fail(
        'TLOG_ERROR',
        origin,
        `Rekor v2 entry logIndex ${String(entry.logIndex)} is not its inclusion proof's ${String(proof.logIndex)}`,
        `${path}.logIndex`,
      );
    }
    if (isRekorV2(entry.kindVersion.kind, entry.kindVersion.version) && rfc3161 === 0) {
      fail(
        'TIMESTAMP_ERROR',
        origin,
        'Rekor v2 entry without an RFC 3161 timestamp: no trusted signing time',
        '$.verificationMaterial.timestampVerificationData',
      );
    }
  });
  return { bundle, version };
}

/**
 * sigstore-js checks the proof against the signed checkpoint's root and size and ignores
 * the proof's own `rootHash`/`treeSize`; we require them to agree (C2SP signed-note
 * checkpoint body: origin, tree size, base64 root hash).
 */
function proofMatchesCheckpoint(proof: {
  rootHash: string;
  treeSize: string | number;
  checkpoint: { envelope: string };
}): boolean {
  const [, size, hash] = proof.checkpoint.envelope.split('\n');
  return (
    size === String(proof.treeSize) &&
    hash !== undefined &&
    Buffer.from(hash, 'base64').equals(Buffer.from(proof.rootHash, 'base64'))
  );
}

/** UNTRUSTED_SIGNER when no certificate authority in the trust material issued the leaf (another Sigstore instance). */
function checkIssuerKnown(leaf: X509Certificate, trust: TrustMaterial, origin: string): void {
  const known = trust.sigstore.certificateAuthorities.some((ca) =>
    ca.certChain.some((c) => c.subject.equals(leaf.issuer)),
  );
  if (!known) {
    fail(
      'UNTRUSTED_SIGNER',
      origin,
      'no certificate authority in the trusted root issued the signing certificate (no trusted root for this signer)',
      '$.verificationMaterial',
    );
  }
}

/** Trust material → the DER of its CA certificates and its sigstore-js verifier, made on first use. */
const perTrust = new WeakMap<TrustMaterial, { cas: Buffer[]; verifier: Verifier }>();

function forTrust(trust: TrustMaterial): { cas: Buffer[]; verifier: Verifier } {
  let made = perTrust.get(trust);
  if (made === undefined) {
    made = {
      cas: trust.sigstore.certificateAuthorities.flatMap((ca) =>
        ca.certChain.map((c) => derOf(c) ?? c.root.toDER()),
      ),
      // Instances without a transparency log or CT log (e.g. GitHub's) rely on RFC 3161 timestamps alone.
      verifier: new Verifier(trust.sigstore, {
        tlogThreshold: trust.sigstore.tlogs.length === 0 ? 0 : 1,
        ctlogThreshold: trust.sigstore.ctlogs.length === 0 ? 0 : 1,
      }),
    };
    perTrust.set(trust, made);
  }
  return made;
}

function transparencyOf(bundle: SigstoreBundleJson): VerifiedAttestation['transparency'] {
  const entries = bundle.verificationMaterial.tlogEntries ?? [];
  const signedTimestamps =
    bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.length ?? 0;
  const first = entries[0];
  if (!first) return { kind: 'none', inclusionProof: false, signedTimestamps };
  const time = Number(first.integratedTime ?? 0);
  return {
    kind: isRekorV2(first.kindVersion.kind, first.kindVersion.version) ? 'rekor-v2' : 'rekor-v1',
    logIndex: String(first.logIndex),
    ...(time > 0 ? { integratedTime: new Date(time * 1000).toISOString() } : {}),
    inclusionProof: entries.every((e) => e.inclusionProof !== undefined),
    signedTimestamps,
  };
}

function formatOf(input: BundleInput, version: BundleVersion): VerifiedAttestation['format'] {
  if (input.container === 'npm-attestations') return 'npm-attestations';
  if (input.container === 'oci-layout') return 'oci-layout';
  return `sigstore-bundle-${version}`;
}

/**
 * Verify one Sigstore bundle offline: shape and limits, signature, certificate chain
 * and SCT, tlog inclusion and body, timestamps (sigstore-js), then payloadType,
 * statement and subject binding (ours). No identity policy is applied here: the
 * signer is reported, and whether it is trusted is the policy layer's decision.
 */
export function verifySigstoreBundle(input: BundleInput, ctx: BundleVerifyContext): VerifiedAttestation {
  const { origin } = input;
  const { bundle, version } = checkShape(input.json, origin, ctx);
  const { trust } = ctx;
  checkCertificateChain(bundle, version, forTrust(trust).cas, origin);

  let entity: ReturnType<typeof toSignedEntity>;
  try {
    entity = toSignedEntity(
      bundleFromJSON(input.json),
      bundle.messageSignature && ctx.artifactBytes ? Buffer.from(ctx.artifactBytes) : undefined,
    );
  } catch (err) {
    throw mapSigstoreError(err, origin);
  }

  if (bundle.messageSignature) {
    const { algorithm, digest } = bundle.messageSignature.messageDigest;
    const signed = Buffer.from(digest, 'base64');
    if (ctx.artifactBytes !== undefined) {
      const own = createHash('sha256').update(ctx.artifactBytes).digest();
      if (algorithm === 'SHA2_256' && !signed.equals(own)) {
        fail(
          'SIGNATURE_ERROR',
          origin,
          'message signature is over another artifact (messageDigest differs)',
          '$.messageSignature.messageDigest',
        );
      }
    } else {
      // Digest only (conformance `sha256:<hex>`): the signed digest must be the artifact's,
      // and the signature is checked over that digest.
      if (
        algorithm !== 'SHA2_256' ||
        ctx.artifact.digests.sha256 === '' ||
        signed.toString('hex') !== ctx.artifact.digests.sha256
      ) {
        fail(
          'SIGNATURE_ERROR',
          origin,
          'message signature is not over the artifact digest given',
          '$.messageSignature.messageDigest',
        );
      }
      const content = entity.signature;
      entity = {
        ...entity,
        signature: {
          signature: content.signature,
          compareSignature: (sig: Buffer) => content.compareSignature(sig),
          compareDigest: (d: Buffer) => content.compareDigest(d),
          compareSignedDigest: (d: Buffer) => content.compareSignedDigest(d),
          verifySignature: (key) => verifyPrehashed(key, signed, content.signature),
        },
      };
    }
  }

  // docs/checklist.md#row-6: a signed integrated time or TSA time in the future is not a time we can trust.
  const latest = (ctx.now ?? new Date()).getTime() + CLOCK_SKEW_MS;
  for (const t of entity.timestamps) {
    const when =
      t.$case === 'timestamp-authority'
        ? t.timestamp.signingTime.getTime()
        : Number(t.tlogEntry.integratedTime) * 1000;
    if (when > latest) {
      fail(
        'TIMESTAMP_ERROR',
        origin,
        `signed time ${new Date(when).toISOString()} is in the future`,
        '$.verificationMaterial',
      );
    }
  }

  let signer: Signer;
  if (entity.key.$case === 'certificate') {
    checkIssuerKnown(entity.key.certificate, trust, origin);
    let extensions: Record<string, string>;
    try {
      extensions = fulcioExtensions(entity.key.certificate);
    } catch (err) {
      throw mapSigstoreError(err, origin);
    }
    const identity = entity.key.certificate.subjectAltName;
    const issuer = certificateIssuer(extensions);
    signer = {
      kind: 'certificate',
      ...(identity !== undefined ? { identity } : {}),
      ...(issuer !== undefined ? { issuer } : {}),
      extensions,
      trustedBy: trust.rootName,
    };
  } else {
    const key = findTrustedKey(trust, entity.key.hint);
    if (!key)
      fail(
        'KEY_UNKNOWN',
        origin,
        `no trusted key for key hint '${entity.key.hint}'`,
        '$.verificationMaterial.publicKey.hint',
      );
    // The key identity is the configured key that verified, never the bundle's hint (signer-chosen).
    signer = {
      kind: 'key',
      ...(key.keyId === '' ? {} : { keyId: key.keyId }),
      extensions: {},
      trustedBy: key.trustedBy,
    };
  }

  try {
    forTrust(trust).verifier.verify(entity);
  } catch (err) {
    throw mapSigstoreError(err, origin);
  }

  const raw = Buffer.from(input.raw);
  const common = {
    digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    origin,
    format: formatOf(input, version),
    bundleVersion: version,
    signer,
    transparency: transparencyOf(bundle),
    raw: raw.toString('base64'),
  };
  if (bundle.dsseEnvelope) {
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const { payloadType } = bundle.dsseEnvelope;
    const base = { ...common, payloadType, payload: payload.toString('base64') };
    // Signature-only checks report any payload; only in-toto statements are parsed.
    if (ctx.signatureOnly && payloadType !== INTOTO_PAYLOAD_TYPE) return base;
    const statement = ctx.signatureOnly
      ? parseStatement(payloadType, payload, origin)
      : bindStatement(payloadType, payload, ctx.artifact, origin).statement;
    return { ...base, statement, predicateType: statement.predicateType };
  }
  // A message signature has no payload: record the signed digest.
  return {
    ...common,
    payloadType: 'message-signature',
    payload: bundle.messageSignature!.messageDigest.digest,
  };
}

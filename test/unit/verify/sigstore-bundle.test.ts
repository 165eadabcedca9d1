/**
 * Sigstore bundle verification on real corpus bundles (test/fixtures/corpus), and
 * tampered variants of them built in each test (named after the defect).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactRef } from '../../../src/core/model.ts';
import type { TrustMaterial } from '../../../src/core/trust/trust-material.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import type { AttestationInput } from '../../../src/core/verify/attestation-input.ts';
import { verifySigstoreBundle, type BundleVerifyContext } from '../../../src/core/verify/sigstore-bundle.ts';
import { verifyAttestations } from '../../../src/core/verify/verify-attestations.ts';
import { makeSyntheticKeyBundle } from './synthetic-log.ts';
import { code } from '../../helpers/error-code.ts';

const CORPUS = fileURLToPath(new URL('../../fixtures/corpus/', import.meta.url));
const PUBLIC_GOOD = loadTrustMaterial();

function json(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(CORPUS, path), 'utf8')) as Record<string, unknown>;
}
function fileArtifact(path: string): { artifact: ArtifactRef; bytes: Buffer } {
  const bytes = readFileSync(join(CORPUS, path));
  return {
    artifact: {
      digests: {
        sha256: createHash('sha256').update(bytes).digest('hex'),
        sha512: createHash('sha512').update(bytes).digest('hex'),
      },
    },
    bytes,
  };
}
function input(bundle: unknown, origin = 'bundle.json'): Extract<AttestationInput, { form: 'bundle' }> {
  return { form: 'bundle', origin, raw: new TextEncoder().encode(JSON.stringify(bundle)), json: bundle };
}
const clone = <T>(v: T): T => structuredClone(v);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// Generic generator v2.1.0, bundle v0.3 (dsse/0.0.1 with inclusion proof), public-good.
const GENERIC = 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid/';
const generic = json(`${GENERIC}provenance.intoto.jsonl`) as Json;
const genericArtifact = fileArtifact(`${GENERIC}artifact`);
const genericCtx: BundleVerifyContext = { artifact: genericArtifact.artifact, trust: PUBLIC_GOOD };

test('a valid v0.3 provenance bundle verifies and reports the signer from the certificate', () => {
  const v = verifySigstoreBundle(input(generic), genericCtx);
  assert.equal(v.format, 'sigstore-bundle-v0.3');
  assert.equal(v.payloadType, 'application/vnd.in-toto+json');
  assert.equal(v.predicateType, 'https://slsa.dev/provenance/v0.2');
  assert.equal(v.signer.kind, 'certificate');
  assert.equal(
    v.signer.identity,
    'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0',
  );
  assert.equal(v.signer.issuer, 'https://token.actions.githubusercontent.com');
  assert.equal(v.signer.extensions.issuer, 'https://token.actions.githubusercontent.com');
  assert.equal(v.signer.extensions.sourceRepositoryURI, 'https://github.com/slsa-framework/example-package');
  assert.match(
    v.signer.extensions.buildSignerURI ?? '',
    /generator_generic_slsa3\.yml@refs\/tags\/v2\.1\.0$/,
  );
  assert.match(v.signer.extensions.sourceRepositoryOwnerIdentifier ?? '', /^\d+$/);
  assert.equal(v.signer.extensions.githubWorkflowRepository, 'slsa-framework/example-package');
  assert.equal(v.signer.trustedBy, 'sigstore-public-good');
  assert.equal(v.transparency.kind, 'rekor-v1');
  assert.equal(v.transparency.inclusionProof, true);
  assert.match(v.transparency.integratedTime ?? '', /^20\d\d-/);
  assert.equal(Buffer.from(v.payload, 'base64').toString('base64'), (generic.dsseEnvelope as Json).payload);
  assert.match(v.digest, /^sha256:[0-9a-f]{64}$/);
});

test('(a) the same valid bundle presented with another artifact is SUBJECT_MISMATCH', () => {
  const other = fileArtifact('slsa-verifier/gha-gradle-v2.1.0-valid/artifact').artifact;
  assert.equal(
    code(() => verifySigstoreBundle(input(generic), { ...genericCtx, artifact: other })),
    'SUBJECT_MISMATCH',
  );
});

test('(b) verifyAttestations applies no identity matching: any verified signer is reported, for policy to judge', () => {
  const email = json('sigstore-js/client-v0.3-msgsig-cert-valid/bundle.sigstore.json');
  const emailCtx = fileArtifact('sigstore-js/client-v0.3-msgsig-cert-valid/artifact');
  const emailTrust = loadTrustMaterial({
    trustedRoot: join(CORPUS, 'sigstore-js/client-v0.3-msgsig-cert-valid/trusted_root.json'),
  });
  const a = verifyAttestations([input(email)], {
    artifact: emailCtx.artifact,
    trust: emailTrust,
    artifactBytes: emailCtx.bytes,
  });
  const b = verifyAttestations([input(generic)], genericCtx);
  assert.deepEqual([a.rejected, b.rejected], [[], []]);
  assert.equal(a.verified[0]?.signer.identity, 'brian@dehamer.com');
  assert.match(b.verified[0]?.signer.identity ?? '', /^https:\/\/github\.com\/slsa-framework\//);
  // The context has no identity fields at all: the signature layer cannot be asked to match one.
  const keys: Array<keyof Parameters<typeof verifyAttestations>[1]> = [
    'artifact',
    'trust',
    'allowV01WithoutInclusionProof',
    'artifactBytes',
    'signatureOnly',
  ];
  assert.ok(!keys.some((k) => /identity|issuer|san/i.test(k)));
});

test('(c) a validly signed DSSE bundle whose payloadType is not in-toto is PAYLOAD_TYPE', () => {
  const dir = 'sigstore-js/client-v0.3-dsse-cert-valid/';
  const trust = loadTrustMaterial({ trustedRoot: join(CORPUS, dir, 'trusted_root.json') });
  const bundle = json(`${dir}bundle.sigstore.json`) as Json;
  assert.equal(bundle.dsseEnvelope.payloadType, 'text/plain');
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), { artifact: genericCtx.artifact, trust })),
    'PAYLOAD_TYPE',
  );
  // Signature-only checks (no artifact) still verify it.
  const v = verifySigstoreBundle(input(bundle), {
    artifact: genericCtx.artifact,
    trust,
    signatureOnly: true,
  });
  assert.equal(v.payloadType, 'text/plain');
});

test('(c) editing payloadType after signing breaks the signature', () => {
  const bundle = clone(generic);
  bundle.dsseEnvelope.payloadType = 'application/json';
  const c = code(() => verifySigstoreBundle(input(bundle), genericCtx));
  assert.ok(c === 'SIGNATURE_ERROR' || c === 'TLOG_BODY_ERROR', c);
});

test('(d) a bundle DSSE envelope with two signatures is BUNDLE_MALFORMED', () => {
  const bundle = clone(generic);
  bundle.dsseEnvelope.signatures.push(clone(bundle.dsseEnvelope.signatures[0]));
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), genericCtx)),
    'BUNDLE_MALFORMED',
  );
  bundle.dsseEnvelope.signatures = [];
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), genericCtx)),
    'BUNDLE_MALFORMED',
  );
});

test('(d) an unknown bundle media type or version is BUNDLE_MALFORMED', () => {
  for (const mediaType of [
    'application/vnd.dev.sigstore.bundle.v0.4+json',
    'application/vnd.dev.sigstore.bundle+json;version=0.4',
    'application/json',
  ]) {
    const bundle = clone(generic);
    bundle.mediaType = mediaType;
    assert.equal(
      code(() => verifySigstoreBundle(input(bundle), genericCtx)),
      'BUNDLE_MALFORMED',
      mediaType,
    );
  }
});

test('(d) an empty certificate chain is BUNDLE_MALFORMED', () => {
  const dir = 'slsa-verifier/gha-gradle-v2.1.0-valid/';
  const bundle = json(`${dir}provenance.build.slsa`) as Json;
  const ctx = { artifact: fileArtifact(`${dir}artifact`).artifact, trust: PUBLIC_GOOD };
  verifySigstoreBundle(input(bundle), ctx);
  const empty = clone(bundle);
  empty.verificationMaterial.x509CertificateChain.certificates = [];
  assert.equal(
    code(() => verifySigstoreBundle(input(empty), ctx)),
    'BUNDLE_MALFORMED',
  );
  // a v0.3 bundle must not carry a chain
  const v03 = clone(bundle);
  v03.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  assert.equal(
    code(() => verifySigstoreBundle(input(v03), ctx)),
    'BUNDLE_MALFORMED',
  );
});

test('(e) a v0.1 bundle without inclusion proof is refused by default and accepted with the flag', () => {
  const dir = 'sigstore-js/client-v0.1-msgsig-cert-valid/';
  const bundle = json(`${dir}bundle.sigstore.json`) as Json;
  assert.equal(bundle.verificationMaterial.tlogEntries[0].inclusionProof, undefined);
  const { artifact, bytes } = fileArtifact(`${dir}artifact`);
  const trust = loadTrustMaterial({ trustedRoot: join(CORPUS, dir, 'trusted_root.json') });
  const ctx = { artifact, trust, artifactBytes: bytes };
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), ctx)),
    'TLOG_MISSING',
  );
  const v = verifySigstoreBundle(input(bundle), { ...ctx, allowV01WithoutInclusionProof: true });
  assert.equal(v.format, 'sigstore-bundle-v0.1');
  assert.equal(v.payloadType, 'message-signature');
  assert.equal(v.transparency.inclusionProof, false);
  // v0.2+ never gets that exception
  const v02 = clone(generic);
  delete v02.verificationMaterial.tlogEntries[0].inclusionProof;
  assert.equal(
    code(() => verifySigstoreBundle(input(v02), { ...genericCtx, allowV01WithoutInclusionProof: true })),
    'TLOG_MISSING',
  );
});

test('a message signature over other bytes is SIGNATURE_ERROR', () => {
  const dir = 'sigstore-js/client-v0.3-msgsig-cert-valid/';
  const bundle = json(`${dir}bundle.sigstore.json`);
  const trust = loadTrustMaterial({ trustedRoot: join(CORPUS, dir, 'trusted_root.json') });
  const { artifact, bytes } = fileArtifact(`${dir}artifact`);
  verifySigstoreBundle(input(bundle), { artifact, trust, artifactBytes: bytes });
  const other = Buffer.from('hello, world?');
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), { artifact, trust, artifactBytes: other })),
    'SIGNATURE_ERROR',
  );
});

test('a message signature verifies against the artifact digest alone (prehashed)', () => {
  const dir = 'sigstore-js/client-v0.3-msgsig-cert-valid/';
  const bundle = json(`${dir}bundle.sigstore.json`);
  const trust = loadTrustMaterial({ trustedRoot: join(CORPUS, dir, 'trusted_root.json') });
  const { artifact } = fileArtifact(`${dir}artifact`);
  const v = verifySigstoreBundle(input(bundle), { artifact, trust });
  assert.equal(v.payloadType, 'message-signature');
  const other = { digests: { sha256: createHash('sha256').update('other').digest('hex') } };
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), { artifact: other, trust })),
    'SIGNATURE_ERROR',
  );
});

test('Rekor v2: verifies with its RFC 3161 timestamp; without it is TIMESTAMP_ERROR', () => {
  const dir = 'sigstore-js/verify-v0.3-dsse-rekor-v2-valid/';
  const trust = loadTrustMaterial({ trustedRoot: join(CORPUS, dir, 'trusted_root.json') });
  const bundle = json(`${dir}bundle.sigstore.json`) as Json;
  const ctx = { artifact: genericCtx.artifact, trust, signatureOnly: true };
  const v = verifySigstoreBundle(input(bundle), ctx);
  assert.equal(v.transparency.kind, 'rekor-v2');
  assert.equal(v.transparency.signedTimestamps, 1);
  const noTsa = clone(bundle);
  delete noTsa.verificationMaterial.timestampVerificationData;
  assert.equal(
    code(() => verifySigstoreBundle(input(noTsa), ctx)),
    'TIMESTAMP_ERROR',
  );
});

test('tampered evidence maps to coded errors (docs/checklist.md#row-1, docs/checklist.md#row-2, docs/checklist.md#row-4 and docs/checklist.md#row-5)', () => {
  const sig = clone(generic);
  const s = Buffer.from(sig.dsseEnvelope.signatures[0].sig, 'base64');
  s.writeUInt8(s.readUInt8(s.length - 1) ^ 1, s.length - 1);
  sig.dsseEnvelope.signatures[0].sig = s.toString('base64');
  const c1 = code(() => verifySigstoreBundle(input(sig), genericCtx));
  assert.ok(c1 === 'TLOG_BODY_ERROR' || c1 === 'SIGNATURE_ERROR', c1);

  const proof = clone(generic);
  const root = Buffer.from(proof.verificationMaterial.tlogEntries[0].inclusionProof.rootHash, 'base64');
  root.writeUInt8(root.readUInt8(0) ^ 1, 0);
  proof.verificationMaterial.tlogEntries[0].inclusionProof.rootHash = root.toString('base64');
  assert.equal(
    code(() => verifySigstoreBundle(input(proof), genericCtx)),
    'TLOG_ERROR',
  );

  const negative = clone(generic);
  negative.verificationMaterial.tlogEntries[0].logIndex = '-1';
  assert.equal(
    code(() => verifySigstoreBundle(input(negative), genericCtx)),
    'BUNDLE_MALFORMED',
  );

  const badBase64 = clone(generic);
  badBase64.dsseEnvelope.payload = `${badBase64.dsseEnvelope.payload.slice(0, 10)}!!${badBase64.dsseEnvelope.payload.slice(10)}`;
  assert.equal(
    code(() => verifySigstoreBundle(input(badBase64), genericCtx)),
    'BUNDLE_MALFORMED',
  );

  const otherBody = clone(generic);
  otherBody.verificationMaterial.tlogEntries[0].canonicalizedBody = (
    json('slsa-verifier/github-attestation-bcr-module-valid/attestation.sigstore.json') as Json
  ).verificationMaterial.tlogEntries[0].canonicalizedBody;
  const c2 = code(() => verifySigstoreBundle(input(otherBody), genericCtx));
  assert.ok(c2 === 'TLOG_ERROR' || c2 === 'TLOG_BODY_ERROR', c2);
});

test('a certificate from a Sigstore instance with no trusted root is UNTRUSTED_SIGNER', () => {
  const dir = 'gh-cli/github-private-instance-wheel/';
  const line = readFileSync(join(CORPUS, dir, 'bundle.jsonl'), 'utf8').split('\n')[0]!;
  const { artifact } = fileArtifact(`${dir}github_provenance_demo-0.0.12-py3-none-any.whl`);
  assert.equal(
    code(() => verifySigstoreBundle(input(JSON.parse(line)), { artifact, trust: PUBLIC_GOOD })),
    'UNTRUSTED_SIGNER',
  );
});

test('key-signed bundles: the configured key verifies; an unknown key hint is KEY_UNKNOWN', () => {
  const dir = 'sigstore-js/client-v0.1-dsse-pubkey-valid/';
  const bundle = json(`${dir}bundle.sigstore.json`);
  const pem = readFileSync(join(CORPUS, dir, 'key-1.pem'), 'utf8');
  const root = join(CORPUS, dir, 'trusted_root.json');
  const opts = { artifact: genericCtx.artifact, signatureOnly: true, allowV01WithoutInclusionProof: true };
  const v = verifySigstoreBundle(input(bundle), {
    ...opts,
    trust: loadTrustMaterial({ trustedRoot: root, publicKeys: [{ keyId: 'key-1', pem }] }),
  });
  assert.deepEqual([v.signer.kind, v.signer.keyId, v.signer.trustedBy], ['key', 'key-1', 'public-key:key-1']);
  const wrongId = loadTrustMaterial({ trustedRoot: root, publicKeys: [{ keyId: 'key-2', pem }] });
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), { ...opts, trust: wrongId })),
    'KEY_UNKNOWN',
  );
  const none: TrustMaterial = loadTrustMaterial({ trustedRoot: root });
  assert.equal(
    code(() => verifySigstoreBundle(input(bundle), { ...opts, trust: none })),
    'KEY_UNKNOWN',
  );
});

test('more than 32 tlog entries is LIMIT_EXCEEDED before any verification', () => {
  const many = clone(generic);
  many.verificationMaterial.tlogEntries = Array.from({ length: 33 }, () =>
    clone(generic.verificationMaterial.tlogEntries[0]),
  );
  assert.equal(
    code(() => verifySigstoreBundle(input(many), genericCtx)),
    'LIMIT_EXCEEDED',
  );
});

test('a duplicated tlog entry cannot count twice', () => {
  const dup = clone(generic);
  dup.verificationMaterial.tlogEntries.push(clone(dup.verificationMaterial.tlogEntries[0]));
  // sigstore-js counts the duplicate's SET timestamp first (TIMESTAMP_ERROR), then the entry (TLOG_ERROR).
  const c = code(() => verifySigstoreBundle(input(dup), genericCtx));
  assert.ok(c === 'TLOG_ERROR' || c === 'TIMESTAMP_ERROR', c);
});

test('a signed time in the future of the verifier is TIMESTAMP_ERROR', () => {
  verifySigstoreBundle(input(generic), { ...genericCtx, now: new Date() });
  assert.equal(
    code(() =>
      verifySigstoreBundle(input(generic), { ...genericCtx, now: new Date('2020-01-01T00:00:00Z') }),
    ),
    'TIMESTAMP_ERROR',
  );
  const dir = 'sigstore-js/verify-v0.3-dsse-rekor-v2-valid/';
  const trust = loadTrustMaterial({ trustedRoot: join(CORPUS, dir, 'trusted_root.json') });
  const ctx = {
    artifact: genericCtx.artifact,
    trust,
    signatureOnly: true,
    now: new Date('2020-01-01T00:00:00Z'),
  };
  assert.equal(
    code(() => verifySigstoreBundle(input(json(`${dir}bundle.sigstore.json`)), ctx)),
    'TIMESTAMP_ERROR',
  );
});

test('self-made log: checkpoint signature and key hint are checked; an unsigned integratedTime is no time (rows 5, 6)', () => {
  const s = makeSyntheticKeyBundle();
  const trust = loadTrustMaterial({
    trustedRoot: s.trustedRoot,
    publicKeys: [{ keyId: 'synthetic-key', pem: s.signingKeyPem }],
  });
  const bytes = readFileSync(s.artifact);
  const ctx = {
    artifact: { digests: { sha256: createHash('sha256').update(bytes).digest('hex') } },
    trust,
    artifactBytes: bytes,
  };
  const v = verifySigstoreBundle(input(s.bundleJson), ctx);
  assert.deepEqual(
    [v.signer.kind, v.signer.keyId, v.transparency.kind, v.transparency.inclusionProof],
    ['key', 'synthetic-key', 'rekor-v1', true],
  );

  const checkpoint = (mutate: (sig: Buffer) => void): Json => {
    const b = clone(s.bundleJson) as Json;
    const proof = b.verificationMaterial.tlogEntries[0].inclusionProof;
    const [note, sigLine] = (proof.checkpoint.envelope as string).split('\n\n');
    const [dash, name, sig] = sigLine!.trim().split(' ');
    const raw = Buffer.from(sig!, 'base64');
    mutate(raw);
    proof.checkpoint.envelope = `${note}\n\n${dash} ${name} ${raw.toString('base64')}\n`;
    return b;
  };
  const badSignature = checkpoint((raw) => raw.writeUInt8(raw.readUInt8(raw.length - 1) ^ 1, raw.length - 1));
  assert.equal(
    code(() => verifySigstoreBundle(input(badSignature), ctx)),
    'TLOG_ERROR',
  );
  const wrongKeyHint = checkpoint((raw) => raw.writeUInt8(raw.readUInt8(0) ^ 1, 0));
  assert.equal(
    code(() => verifySigstoreBundle(input(wrongKeyHint), ctx)),
    'TLOG_ERROR',
  );

  const noSet = clone(s.bundleJson) as Json;
  delete noSet.verificationMaterial.tlogEntries[0].inclusionPromise;
  assert.equal(
    code(() => verifySigstoreBundle(input(noSet), ctx)),
    'TIMESTAMP_ERROR',
  );
});

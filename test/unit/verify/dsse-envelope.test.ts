import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GateError, type ErrorCode } from '../../../src/core/errors.ts';
import type { ArtifactRef } from '../../../src/core/model.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import type { AttestationInput } from '../../../src/core/verify/attestation-input.ts';
import {
  verifyDsseEnvelope,
  type ConfiguredKey,
  type DsseVerifyContext,
} from '../../../src/core/verify/dsse-envelope.ts';
import { decodeBase64, pae, verifySignature } from '../../../src/core/verify/dsse-pae.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { verifyAttestations } from '../../../src/core/verify/verify-attestations.ts';

const CASES = join(import.meta.dirname, '../../fixtures/corpus/slsa-verifier');
const BCID_KEY_ID = 'keystore://76574:prod:vsa_signing_public_key';
const INTOTO = 'application/vnd.in-toto+json';

function assertCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GateError, `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

interface Envelope {
  payload: string;
  payloadType: string;
  signatures: { keyid?: string; sig: string; cert?: string }[];
}

function caseInput(name: string, file: string): { input: AttestationInput; json: Envelope } {
  const raw = readFileSync(join(CASES, name, file));
  const json = JSON.parse(raw.toString('utf8')) as Envelope;
  return { input: { form: 'dsse', origin: `${name}/${file}`, raw, json }, json };
}

function dsseInput(json: Envelope): AttestationInput {
  const raw = Buffer.from(JSON.stringify(json));
  return { form: 'dsse', origin: 'test.dsse.json', raw, json };
}

const BCID_KEY = createPublicKey(
  readFileSync(join(CASES, 'vsa-google-bcid-valid/vsa_signing_public_key.pem')),
);
/** The BCID VSA names the GCE image by id, not by a content digest. */
const GCE_IMAGE: ArtifactRef = {
  digests: { sha256: '' },
  namedDigests: { gce_image_id: '8970095005306000053' },
};

/** Configured keys as the trust material lists them: id, key and the label recorded as `trustedBy`. */
function configured(keys: [string, KeyObject][]): ConfiguredKey[] {
  return keys.map(([keyId, key]) => ({
    keyId,
    key,
    trustedBy: keyId === '' ? 'public-key' : `public-key:${keyId}`,
  }));
}

function bcidContext(keys: [string, KeyObject][], keyId?: string): DsseVerifyContext {
  return {
    artifact: GCE_IMAGE,
    trust: { publicKeys: configured(keys) },
    ...(keyId === undefined ? {} : { keyId }),
  };
}

// --- PAE and signature primitives

test('PAE matches the DSSE protocol test vector', () => {
  assert.equal(
    pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
    'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  );
  assert.equal(pae('t', Buffer.alloc(0)).toString(), 'DSSEv1 1 t 0 ');
});

test('the DSSE protocol example envelope verifies (P-256, IEEE-P1363 r||s)', () => {
  const coordinate = (decimal: string) => Buffer.from(BigInt(decimal).toString(16).padStart(64, '0'), 'hex');
  const key = createPublicKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: coordinate('46950820868899156662930047687818585632848591499744589407958293238635476079160').toString(
        'base64url',
      ),
      y: coordinate('5640078356564379163099075877009565129882514886557779369047442380624545832820').toString(
        'base64url',
      ),
    },
  });
  const sig = decodeBase64(
    'A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==',
    'sig',
  );
  const message = pae('http://example.com/HelloWorld', Buffer.from('hello world'));
  assert.equal(verifySignature(key, message, sig), true);
  assert.equal(
    verifySignature(key, pae('http://example.com/HelloWorld', Buffer.from('hello world!')), sig),
    false,
  );
});

test('ECDSA DER, RSA and Ed25519 signatures verify; a wrong key or mangled bytes do not', () => {
  const data = Buffer.from('payload');
  const pairs = [
    generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('ed25519'),
  ];
  for (const { publicKey, privateKey } of pairs) {
    const alg =
      publicKey.asymmetricKeyType === 'ed25519'
        ? null
        : publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'secp384r1'
          ? 'sha384'
          : 'sha256';
    const sig = sign(alg, data, privateKey);
    assert.equal(verifySignature(publicKey, data, sig), true, publicKey.asymmetricKeyType);
    assert.equal(verifySignature(publicKey, Buffer.from('other'), sig), false);
    assert.equal(verifySignature(publicKey, data, Buffer.from('garbage')), false);
    assert.equal(verifySignature(publicKey, data, Buffer.alloc(0)), false);
    assert.equal(
      verifySignature(
        pairs[0]!.publicKey === publicKey ? pairs[3]!.publicKey : pairs[0]!.publicKey,
        data,
        sig,
      ),
      false,
    );
  }
  const { publicKey, privateKey } = pairs[0]!;
  const p1363 = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  assert.equal(verifySignature(publicKey, data, p1363), true);
});

test('base64: standard and URL-safe are both accepted; anything else is malformed', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00]);
  assert.deepEqual(decodeBase64(bytes.toString('base64'), 'x'), bytes);
  assert.deepEqual(decodeBase64(bytes.toString('base64url'), 'x'), bytes);
  assert.deepEqual(decodeBase64(`${bytes.toString('base64url')}==`, 'x'), bytes);
  for (const bad of ['invalid encoding', 'ab+_', 'abc*', 'a', 'ab=c', '====']) {
    assertCode(() => decodeBase64(bad, 'x'), 'BUNDLE_MALFORMED');
  }
  assertCode(() => decodeBase64('!', 'x', 'SIGNATURE_ERROR'), 'SIGNATURE_ERROR');
});

// --- Google BCID VSA (real, key-signed, P1363)

test('vsa-google-bcid-valid verifies with its key and key id', () => {
  const { input, json } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  const v = verifyDsseEnvelope(input, bcidContext([[BCID_KEY_ID, BCID_KEY]], BCID_KEY_ID));
  assert.equal(v.format, 'dsse-key');
  assert.deepEqual(v.signer, {
    kind: 'key',
    keyId: BCID_KEY_ID,
    extensions: {},
    trustedBy: `public-key:${BCID_KEY_ID}`,
  });
  assert.equal(v.predicateType, 'https://slsa.dev/verification_summary/v1');
  assert.equal(v.payload, Buffer.from(json.payload, 'base64').toString('base64'));
  assert.equal(v.digest, `sha256:${createHash('sha256').update(input.raw).digest('hex')}`);
  assert.equal(v.transparency.kind, 'none');
});

test('vsa-google-bcid-valid verifies without a hint when the keyid names a configured key', () => {
  const { input } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const v = verifyDsseEnvelope(
    input,
    bcidContext([
      ['other', other],
      [BCID_KEY_ID, BCID_KEY],
    ]),
  );
  assert.equal(v.signer.keyId, BCID_KEY_ID);
});

test('a key configured without id (as `cosign --key`) applies to any envelope keyid, which never names the signer', () => {
  const { input } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  const v = verifyDsseEnvelope(input, bcidContext([['', BCID_KEY]]));
  // The keyid is chosen by whoever signed (DSSE protocol.md): the signer is the configured
  // key that verified, which has no id here, so no key id is reported.
  assert.equal(v.signer.keyId, undefined);
  assert.equal(v.signer.trustedBy, 'public-key');
});

test('vsa-google-bcid-wrong-keyid: the envelope keyid differs from the configured key id', () => {
  const { input } = caseInput('vsa-google-bcid-wrong-keyid', 'vsa.dsse.jsonl');
  assertCode(
    () => verifyDsseEnvelope(input, bcidContext([['my_key_id', BCID_KEY]], 'my_key_id')),
    'KEY_UNKNOWN',
  );
  assertCode(() => verifyDsseEnvelope(input, bcidContext([['my_key_id', BCID_KEY]])), 'KEY_UNKNOWN');
  assertCode(
    () => verifyDsseEnvelope(input, bcidContext([[BCID_KEY_ID, BCID_KEY]], 'my_key_id')),
    'KEY_UNKNOWN',
  );
});

test('the BCID VSA signed by another key under its key id fails the signature check', () => {
  const { input } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  assertCode(
    () => verifyDsseEnvelope(input, bcidContext([[BCID_KEY_ID, other]], BCID_KEY_ID)),
    'SIGNATURE_ERROR',
  );
});

test('the BCID VSA for another GCE image is a subject mismatch', () => {
  const { input } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  const ctx = bcidContext([[BCID_KEY_ID, BCID_KEY]], BCID_KEY_ID);
  ctx.artifact = { digests: { sha256: '' }, namedDigests: { gce_image_id: '8970095005306000054' } };
  assertCode(() => verifyDsseEnvelope(input, ctx), 'SUBJECT_MISMATCH');
});

test('editing the payload or the payloadType of the BCID VSA breaks its signature', () => {
  const { json } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  const payload = Buffer.from(json.payload, 'base64').toString('utf8').replace('PASSED', 'FAILED');
  assertCode(
    () =>
      verifyDsseEnvelope(
        dsseInput({ ...json, payload: Buffer.from(payload).toString('base64') }),
        bcidContext([[BCID_KEY_ID, BCID_KEY]]),
      ),
    'SIGNATURE_ERROR',
  );
  assertCode(
    () =>
      verifyDsseEnvelope(
        dsseInput({ ...json, payloadType: 'application/json' }),
        bcidContext([[BCID_KEY_ID, BCID_KEY]]),
      ),
    'SIGNATURE_ERROR',
  );
});

// --- Envelopes made here with generated keys (made by these tests, not upstream data)

const ARTIFACT: ArtifactRef = { digests: { sha256: 'ab'.repeat(32) } };
const STATEMENT = Buffer.from(
  JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'a', digest: { sha256: 'ab'.repeat(32) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {},
  }),
);

function signEnvelope(privateKey: KeyObject, keyid: string | undefined, payloadType = INTOTO): Envelope {
  const sig = sign(
    privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256',
    pae(payloadType, STATEMENT),
    privateKey,
  );
  return {
    payload: STATEMENT.toString('base64'),
    payloadType,
    signatures: [{ ...(keyid === undefined ? {} : { keyid }), sig: sig.toString('base64') }],
  };
}

function keyContext(keys: [string, KeyObject][], keyId?: string): DsseVerifyContext {
  return {
    artifact: ARTIFACT,
    trust: { publicKeys: configured(keys) },
    ...(keyId === undefined ? {} : { keyId }),
  };
}

test('a signature without keyid is tried with every configured key', () => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const v = verifyDsseEnvelope(
    dsseInput(signEnvelope(signer.privateKey, undefined)),
    keyContext([
      ['other', other.publicKey],
      ['mine', signer.publicKey],
    ]),
  );
  assert.equal(v.signer.keyId, 'mine');
  assert.equal(v.statement?._type, 'https://in-toto.io/Statement/v1');
});

test('with a key hint, a signature whose keyid is not the hint is never tried', () => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assertCode(
    () =>
      verifyDsseEnvelope(
        dsseInput(signEnvelope(signer.privateKey, undefined)),
        keyContext([['mine', signer.publicKey]], 'mine'),
      ),
    'KEY_UNKNOWN',
  );
  const v = verifyDsseEnvelope(
    dsseInput(signEnvelope(signer.privateKey, 'mine')),
    keyContext([['mine', signer.publicKey]], 'mine'),
  );
  assert.equal(v.signer.trustedBy, 'public-key:mine');
});

test('one verifying signature among unverifiable ones is accepted; none verifying is a signature error', () => {
  const signer = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519');
  const good = signEnvelope(signer.privateKey, 'k');
  const bad = signEnvelope(stranger.privateKey, 'k');
  const both: Envelope = { ...good, signatures: [...bad.signatures, ...good.signatures] };
  const v = verifyDsseEnvelope(dsseInput(both), keyContext([['k', signer.publicKey]]));
  assert.equal(v.signer.keyId, 'k');
  assertCode(
    () => verifyDsseEnvelope(dsseInput(bad), keyContext([['k', signer.publicKey]])),
    'SIGNATURE_ERROR',
  );
});

test('an envelope with another payloadType fails after the signature verifies', () => {
  const signer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assertCode(
    () =>
      verifyDsseEnvelope(
        dsseInput(signEnvelope(signer.privateKey, 'k', 'application/json')),
        keyContext([['k', signer.publicKey]]),
      ),
    'PAYLOAD_TYPE',
  );
});

test('malformed envelopes: no signatures, bad base64, too many signatures, missing fields', () => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctx = keyContext([['k', signer.publicKey]]);
  const good = signEnvelope(signer.privateKey, 'k');
  assertCode(() => verifyDsseEnvelope(dsseInput({ ...good, signatures: [] }), ctx), 'BUNDLE_MALFORMED');
  assertCode(
    () => verifyDsseEnvelope(dsseInput({ ...good, signatures: [{ keyid: 'k', sig: 'not base64!' }] }), ctx),
    'BUNDLE_MALFORMED',
  );
  assertCode(() => verifyDsseEnvelope(dsseInput({ ...good, payload: 'e30=?' }), ctx), 'BUNDLE_MALFORMED');
  const many = Array.from({ length: 17 }, () => good.signatures[0]!);
  assertCode(() => verifyDsseEnvelope(dsseInput({ ...good, signatures: many }), ctx), 'LIMIT_EXCEEDED');
  const missing = {
    form: 'dsse',
    origin: 'x',
    raw: Buffer.from('{}'),
    json: { payload: good.payload },
  } as const;
  assertCode(() => verifyDsseEnvelope(missing, ctx), 'BUNDLE_MALFORMED');
});

test('the DSSE verifier refuses other input forms', () => {
  assertCode(
    () => verifyDsseEnvelope({ form: 'gcb', origin: 'x', raw: Buffer.from('{}'), json: {} }, keyContext([])),
    'INPUT_INVALID',
  );
});

// --- Older slsa-github-generator envelopes: certificate embedded, no log evidence

const BARE_CERT_CASES = [
  'gha-generic-annotated-tag',
  'gha-generic-annotated-tag-with-branch',
  'gha-generic-workflow-inputs-match',
  'gha-generic-workflow-inputs-mismatch',
  'gha-generic-multi-subject-second',
  'gha-generic-multi-subject-digest-not-listed',
];

for (const name of BARE_CERT_CASES) {
  test(`${name}: a certificate-signed envelope without log evidence fails closed`, () => {
    const { input, json } = caseInput(name, 'provenance.intoto.jsonl');
    assert.ok(json.signatures[0]?.cert?.startsWith('-----BEGIN CERTIFICATE-----'));
    const expected = JSON.parse(readFileSync(join(CASES, name, 'expected.json'), 'utf8')) as {
      artifact_digest: string;
    };
    const artifact: ArtifactRef = { digests: { sha256: expected.artifact_digest } };
    assertCode(() => verifyDsseEnvelope(input, { artifact, trust: { publicKeys: [] } }), 'TLOG_MISSING');
    const someKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assertCode(
      () => verifyDsseEnvelope(input, { artifact, trust: { publicKeys: configured([['', someKey]]) } }),
      'TLOG_MISSING',
    );
  });
}

test('an envelope without certificates and no configured key names an unknown key', () => {
  const { input } = caseInput('vsa-google-bcid-valid', 'vsa.dsse.jsonl');
  assertCode(() => verifyDsseEnvelope(input, bcidContext([])), 'KEY_UNKNOWN');
});

test('through the attestation loader and dispatcher with trust material from `--public-key` and `--public-key-id`', () => {
  const pem = readFileSync(join(CASES, 'vsa-google-bcid-valid/vsa_signing_public_key.pem'), 'utf8');
  const verdict = (keyId: string) =>
    verifyAttestations(
      loadAttestations(readFileSync(join(CASES, 'vsa-google-bcid-valid/vsa.dsse.jsonl')), 'vsa'),
      {
        artifact: GCE_IMAGE,
        trust: loadTrustMaterial({ publicKeys: [{ keyId, pem }] }),
      },
    );
  assert.deepEqual(
    verdict(BCID_KEY_ID).verified.map((v) => v.signer.trustedBy),
    [`public-key:${BCID_KEY_ID}`],
  );
  assert.deepEqual(
    verdict('my_key_id').rejected.map((r) => r.code),
    ['KEY_UNKNOWN'],
  );
});

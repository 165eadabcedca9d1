import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GateError, type ErrorCode } from '../../../src/core/errors.ts';
import type { ArtifactRef } from '../../../src/core/model.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import { loadGcbProvenance, verifyGcbProvenance } from '../../../src/core/verify/gcb-provenance.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { verifyAttestations } from '../../../src/core/verify/verify-attestations.ts';

const CORPUS = join(import.meta.dirname, '../../fixtures/corpus');
const CASES = join(CORPUS, 'slsa-verifier');

/** Cloud Build's public keys from the corpus trust material, by file name. */
function gcbKeys(): Map<string, KeyObject> {
  const dir = join(CORPUS, '_trust/gcb-keys');
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.key'))
      .map((f) => [f.slice(0, -'.key'.length), createPublicKey(readFileSync(join(dir, f)))]),
  );
}
const KEYS = gcbKeys();

interface Case {
  json: Record<string, unknown>;
  raw: Buffer;
  artifact: ArtifactRef;
}

function loadCase(name: string): Case {
  const expected = JSON.parse(readFileSync(join(CASES, name, 'expected.json'), 'utf8')) as {
    artifact_digest: string;
  };
  const raw = readFileSync(join(CASES, name, 'provenance.gcb.json'));
  return {
    json: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
    raw,
    artifact: { digests: { sha256: expected.artifact_digest } },
  };
}

function verifyCase(c: Case, keys: ReadonlyMap<string, KeyObject> = KEYS) {
  const input = loadGcbProvenance(c.json, c.raw, 'provenance.gcb.json');
  return verifyGcbProvenance(input, { artifact: c.artifact, trust: { gcbKeys: keys } });
}

function assertCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GateError, `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** The first occurrence's envelope of a (mutable) copy of the document. */
function envelopeOf(json: Record<string, unknown>): {
  payload: string;
  payloadType: string;
  signatures: { keyid: string; sig: string }[];
} {
  const summary = json.provenance_summary as { provenance: { envelope: never }[] };
  return summary.provenance[0]!.envelope;
}

function occurrenceOf(json: Record<string, unknown>): { kind: string; resourceUri: string } {
  return (json.provenance_summary as { provenance: { kind: string; resourceUri: string }[] }).provenance[0]!;
}

test('gcb-v0.3-valid verifies with the us-west2 regional key over the raw payload', () => {
  const c = loadCase('gcb-v0.3-valid');
  const v = verifyCase(c);
  assert.equal(v.format, 'gcb-kms');
  assert.equal(v.signer.kind, 'key');
  assert.equal(v.signer.trustedBy, 'gcb-kms:us-west2');
  assert.equal(
    v.signer.keyId,
    'projects/verified-builder/locations/us-west2/keyRings/attestor/cryptoKeys/builtByGCB/cryptoKeyVersions/1',
  );
  assert.equal(v.payloadType, 'application/vnd.in-toto+json');
  assert.equal(v.predicateType, 'https://slsa.dev/provenance/v0.1');
  assert.equal(v.payload, envelopeOf(c.json).payload);
  assert.equal(v.raw, c.raw.toString('base64'));
  assert.match(v.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(v.transparency.kind, 'none');
});

test('gcb-v0.3-tag-valid verifies; its first signature is by the global PAE key over the PAE', () => {
  const v = verifyCase(loadCase('gcb-v0.3-tag-valid'));
  assert.equal(v.signer.trustedBy, 'gcb-kms:global-pae-provenanceSigner_1');
});

test('gcb-v0.3-tag-valid still verifies through the regional signature when the global key is absent', () => {
  const keys = new Map(KEYS);
  keys.delete('global-pae-provenanceSigner_1');
  const v = verifyCase(loadCase('gcb-v0.3-tag-valid'), keys);
  assert.equal(v.signer.trustedBy, 'gcb-kms:us-west2');
});

test('gcb-v0.3-multiple-signatures-2nd-valid: one valid signature among bad ones suffices', () => {
  const v = verifyCase(loadCase('gcb-v0.3-multiple-signatures-2nd-valid'));
  assert.equal(v.signer.trustedBy, 'gcb-kms:us-west2');
});

test('gcb-v0.3-tampered-payload-builderid fails the signature check', () => {
  assertCode(() => verifyCase(loadCase('gcb-v0.3-tampered-payload-builderid')), 'SIGNATURE_ERROR');
});

test('gcb-v0.3-tampered-payload-digest fails the signature check', () => {
  assertCode(() => verifyCase(loadCase('gcb-v0.3-tampered-payload-digest')), 'SIGNATURE_ERROR');
});

test('gcb-v0.3-bad-signature-encoding is a malformed envelope', () => {
  assertCode(() => verifyCase(loadCase('gcb-v0.3-bad-signature-encoding')), 'BUNDLE_MALFORMED');
});

test('gcb-v0.3-summary-digest-mismatch: the unsigned summary must equal the signed subject', () => {
  assertCode(() => verifyCase(loadCase('gcb-v0.3-summary-digest-mismatch')), 'BUNDLE_MALFORMED');
});

test('another artifact than the signed subject is a subject mismatch', () => {
  const c = loadCase('gcb-v0.3-valid');
  c.artifact = { digests: { sha256: 'a'.repeat(64) } };
  assertCode(() => verifyCase(c), 'SUBJECT_MISMATCH');
});

test('fully_qualified_digest, kind and resourceUri must agree with the signed subject', () => {
  const mutations: ((json: Record<string, unknown>) => void)[] = [
    (json) => {
      const summary = json.image_summary as { fully_qualified_digest: string };
      summary.fully_qualified_digest = summary.fully_qualified_digest.replace(/.$/, '0');
    },
    (json) => {
      occurrenceOf(json).kind = 'IMAGE';
    },
    (json) => {
      const occurrence = occurrenceOf(json);
      occurrence.resourceUri = occurrence.resourceUri.replace(/.$/, '0');
    },
  ];
  for (const mutate of mutations) {
    const c = loadCase('gcb-v0.3-valid');
    mutate(c.json);
    assertCode(() => verifyCase(c), 'BUNDLE_MALFORMED');
  }
});

test('without the GCB keys nothing verifies: the signing key is unknown', () => {
  assertCode(() => verifyCase(loadCase('gcb-v0.3-valid'), new Map()), 'KEY_UNKNOWN');
});

test('a regional signature presented under the global PAE keyid does not verify', () => {
  const c = loadCase('gcb-v0.3-valid');
  envelopeOf(c.json).signatures[0]!.keyid =
    'projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/provenanceSigner/cryptoKeyVersions/1';
  assertCode(() => verifyCase(c), 'SIGNATURE_ERROR');
});

test('a regional-looking keyid never selects a global-pae key file', () => {
  const c = loadCase('gcb-v0.3-valid');
  envelopeOf(c.json).signatures[0]!.keyid =
    'projects/verified-builder/locations/global-pae/keyRings/attestor/cryptoKeys/builtByGCB/cryptoKeyVersions/1';
  const keys = new Map(KEYS);
  keys.set('global-pae', KEYS.get('us-west2')!);
  assertCode(() => verifyCase(c, keys), 'KEY_UNKNOWN');
});

test('a keyid outside the anchored key name pattern names no key', () => {
  const c = loadCase('gcb-v0.3-valid');
  const sig = envelopeOf(c.json).signatures[0]!;
  sig.keyid = `evil/${sig.keyid}`;
  assertCode(() => verifyCase(c), 'KEY_UNKNOWN');
});

test('payloadType is checked even though regional keys do not sign it', () => {
  const c = loadCase('gcb-v0.3-valid');
  envelopeOf(c.json).payloadType = 'application/json';
  assertCode(() => verifyCase(c), 'PAYLOAD_TYPE');
});

test('an envelope without signatures is malformed; too many signatures exceed the limit', () => {
  const empty = loadCase('gcb-v0.3-valid');
  envelopeOf(empty.json).signatures = [];
  assertCode(() => verifyCase(empty), 'BUNDLE_MALFORMED');

  const many = loadCase('gcb-v0.3-valid');
  const envelope = envelopeOf(many.json);
  envelope.signatures = Array.from({ length: 17 }, () => ({ ...envelope.signatures[0]! }));
  assertCode(() => verifyCase(many), 'LIMIT_EXCEEDED');
});

test('a document without provenance occurrences has no provenance', () => {
  const c = loadCase('gcb-v0.3-valid');
  (c.json.provenance_summary as { provenance: unknown[] }).provenance = [];
  assertCode(() => verifyCase(c), 'NO_PROVENANCE');
});

test('the loader rejects a document that is not GCB provenance', () => {
  assertCode(
    () => loadGcbProvenance({ provenance_summary: {} }, Buffer.from('{}'), 'x.json'),
    'BUNDLE_MALFORMED',
  );
});

test('the GCB verifier refuses other input forms', () => {
  const c = loadCase('gcb-v0.3-valid');
  assertCode(
    () =>
      verifyGcbProvenance(
        { form: 'dsse', origin: 'x', raw: c.raw, json: c.json },
        { artifact: c.artifact, trust: { gcbKeys: KEYS } },
      ),
    'INPUT_INVALID',
  );
});

test('through the attestation loader and dispatcher with trust material from the GCB keys directory', () => {
  const trust = loadTrustMaterial({ gcbKeysDir: join(CORPUS, '_trust/gcb-keys') });
  const verdicts = ['gcb-v0.3-valid', 'gcb-v0.3-tampered-payload-digest'].map((name) => {
    const c = loadCase(name);
    return verifyAttestations(loadAttestations(c.raw, name), { artifact: c.artifact, trust });
  });
  assert.deepEqual(
    verdicts[0]?.verified.map((v) => v.signer.trustedBy),
    ['gcb-kms:us-west2'],
  );
  assert.deepEqual(
    verdicts[1]?.rejected.map((r) => r.code),
    ['SIGNATURE_ERROR'],
  );
});

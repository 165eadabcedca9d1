/**
 * A VSA key speaks only for the verifier ids configured for it (docs/attestors.md#trust-in-attestors,
 * docs/security-model.md#vsa-signers).
 *
 * Real material: a VSA for verifier A signed at run time with K1, the key configured for A.
 * Attacker material: the attacker runs verifier B and holds its key K2, which the operator
 * configured for B only. They write a VSA statement naming verifier A (same subject, resource
 * and a higher level) and sign it with K2 (`signBundle`/`signEnvelope` from
 * test/helpers/vsa-fixtures.ts: ECDSA P-256 over the DSSE PAE, keyid K2 or, to steer the key
 * choice, K1's keyid). The signature verifies: only the tie between K2 and B stops it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Reason, Resource } from '../../../src/attestors/attestor.ts';
import { createVsaTrust, evaluateVsas } from '../../../src/attestors/vsa-trust.ts';
import { ERRORS, isGateError } from '../../../src/core/errors.ts';
import { makeKey, signBundle, signEnvelope, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const A = 'https://verifier-a.example/v1';
const B = 'https://verifier-b.example/v1';
const k1 = makeKey('k1');
const k2 = makeKey('k2');
const DIGEST = 'e'.repeat(64);
const dep: Resource = { kind: 'artifact', uri: 'pkg:npm/left-pad@1.3.0', digest: { sha256: DIGEST } };
const verifiers = [
  { id: A, tracks: { BUILD: 3 } },
  { id: B, tracks: { BUILD: 1 } },
];
const trust = createVsaTrust({
  verifiers,
  signers: [
    { keyId: k1.keyId, publicKey: k1.publicKeyPem, verifierIds: [A] },
    { keyId: k2.keyId, publicKey: k2.publicKeyPem, verifierIds: [B] },
  ],
});
const vsaFor = (verifierId: string, level: number) =>
  vsaStatement({
    digest: { sha256: DIGEST },
    resourceUri: 'pkg:npm/left-pad@1.3.0',
    verifierId,
    levels: [`SLSA_BUILD_LEVEL_${level}`],
  });
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const codes = (reasons: Reason[]) => reasons.map((r) => r.code);

test('VSA_SIGNER_UNTRUSTED is a verification-layer code', () => {
  assert.deepEqual(ERRORS.VSA_SIGNER_UNTRUSTED, { layer: 'verification', retryable: false });
});

test("K1's VSA for verifier A proves A's level; K2 proves B's", () => {
  const a = evaluateVsas(bytes(signBundle(vsaFor(A, 3), k1)), 'a', dep, trust);
  assert.deepEqual(a.evidence[0]?.proven, { build: 3 }, JSON.stringify(a.reasons));
  const b = evaluateVsas(bytes(signBundle(vsaFor(B, 1), k2)), 'b', dep, trust);
  assert.deepEqual(b.evidence[0]?.proven, { build: 1 }, JSON.stringify(b.reasons));
});

test('a VSA signed with K2 (configured for verifier B) claiming verifier A is VSA_SIGNER_UNTRUSTED', () => {
  const forged = [
    signBundle(vsaFor(A, 3), k2),
    signEnvelope(vsaFor(A, 3), k2),
    // The key hint is unsigned: naming K1 does not make K2's signature K1's.
    signBundle(vsaFor(A, 3), { ...k2, keyId: k1.keyId }),
    signEnvelope(vsaFor(A, 3), { ...k2, keyId: '' }),
  ];
  for (const [i, signed] of forged.entries()) {
    const r = evaluateVsas(bytes(signed), `forged[${i}]`, dep, trust);
    assert.deepEqual(r.evidence, [], `forged[${i}]`);
    assert.ok(r.reasons.length === 1, JSON.stringify(r.reasons));
    // K1's keyid steers the check to K1, under which K2's signature fails.
    assert.equal(codes(r.reasons)[0], i === 2 ? 'SIGNATURE_ERROR' : 'VSA_SIGNER_UNTRUSTED', `forged[${i}]`);
  }
});

test('a key speaks for every configured verifier only where the operator wrote `any`', () => {
  const shared = createVsaTrust({
    verifiers,
    signers: [{ keyId: k2.keyId, publicKey: k2.publicKeyPem, verifierIds: 'any' }],
  });
  const r = evaluateVsas(bytes(signBundle(vsaFor(A, 3), k2)), 'a', dep, shared);
  assert.deepEqual(r.evidence[0]?.proven, { build: 3 }, JSON.stringify(r.reasons));
  // `any` is the verifiers configured here, not whatever id a VSA names.
  const unknown = evaluateVsas(bytes(signBundle(vsaFor('https://nobody.example', 3), k2)), 'x', dep, shared);
  assert.deepEqual(codes(unknown.reasons), ['VSA_SIGNER_UNTRUSTED']);
});

test('a signer without verifier ids, with none, or for a verifier not configured is CONFIG_INVALID', () => {
  const key = { keyId: k1.keyId, publicKey: k1.publicKeyPem };
  for (const signer of [
    key,
    { ...key, verifierIds: [] },
    { ...key, verifierIds: 'all' },
    { ...key, verifierIds: ['https://nobody.example'] },
    { identity: 'https://id.example', issuer: 'https://issuer.example' },
  ]) {
    assert.throws(
      () => createVsaTrust({ verifiers, signers: [signer] }),
      (e) => isGateError(e) && e.code === 'CONFIG_INVALID',
      JSON.stringify(signer),
    );
  }
});

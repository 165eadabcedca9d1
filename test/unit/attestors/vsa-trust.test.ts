import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Reason, Resource } from '../../../src/attestors/attestor.ts';
import {
  createVsaTrust,
  evaluateVsas,
  parseVerifiedLevels,
  recheckEvidence,
} from '../../../src/attestors/vsa-trust.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { makeKey, signBundle, signEnvelope, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const store = makeKey('store-key');
const source = makeKey('source-key');
const stranger = makeKey('store-key'); // same key id, another key: a forgery
const trust = createVsaTrust({
  verifiers: [
    { id: 'https://store.example/verifier', tracks: { BUILD: 2 } },
    { id: 'https://source.example/verifier', tracks: { SOURCE: 3 } },
  ],
  signers: [
    { keyId: store.keyId, publicKey: store.publicKeyPem, verifierIds: ['https://store.example/verifier'] },
    { keyId: source.keyId, publicKey: source.publicKeyPem, verifierIds: ['https://source.example/verifier'] },
  ],
});

const DIGEST = 'a'.repeat(64);
const dep: Resource = { kind: 'artifact', uri: 'pkg:npm/left-pad@1.3.0', digest: { sha256: DIGEST } };
const COMMIT = 'c'.repeat(40);
const REPO = 'git+https://github.com/acme/app';
const rev: Resource = { kind: 'git', repo: REPO, commit: COMMIT, ref: 'refs/heads/main' };

const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const depVsa = (over: Partial<Parameters<typeof vsaStatement>[0]> = {}) =>
  vsaStatement({
    digest: { sha256: DIGEST },
    resourceUri: 'pkg:npm/left-pad@1.3.0',
    verifierId: 'https://store.example/verifier',
    levels: ['SLSA_BUILD_LEVEL_2'],
    ...over,
  });
const sourceVsa = (over: Partial<Parameters<typeof vsaStatement>[0]> = {}) =>
  vsaStatement({
    digest: { gitCommit: COMMIT },
    resourceUri: REPO,
    verifierId: 'https://source.example/verifier',
    levels: ['SLSA_SOURCE_LEVEL_3', 'TAG_HYGIENE'],
    sourceRefs: ['refs/heads/main'],
    ...over,
  });
const codes = (reasons: Reason[]) => reasons.map((r) => r.code);

test('a dependency VSA signed by a trusted verifier proves its build level (bundle and bare envelope)', () => {
  for (const signed of [signBundle(depVsa(), store), signEnvelope(depVsa(), store)]) {
    const r = evaluateVsas(bytes(signed), 'vsa.json', dep, trust);
    assert.equal(r.evidence.length, 1, r.reasons.map((x) => JSON.stringify(x)).join('\n'));
    assert.deepEqual(r.evidence[0]!.proven, { build: 2 });
    assert.equal(r.evidence[0]!.trustedBy, 'public-key:store-key');
    assert.match(r.evidence[0]!.digest, /^sha256:[0-9a-f]{64}$/);
  }
});

test('a forged VSA claiming SLSA_BUILD_LEVEL_3 (right key id, wrong key) is ignored with its reason', () => {
  const r = evaluateVsas(
    bytes(signBundle(depVsa({ levels: ['SLSA_BUILD_LEVEL_3'] }), stranger)),
    'forged',
    dep,
    trust,
  );
  assert.deepEqual(r.evidence, []);
  assert.deepEqual(codes(r.reasons), ['SIGNATURE_ERROR']);
});

test('a self-signed VSA with an unknown key is ignored (KEY_UNKNOWN)', () => {
  const self = makeKey('self');
  const r = evaluateVsas(
    bytes(signBundle(depVsa({ levels: ['SLSA_BUILD_LEVEL_3'] }), self)),
    'self',
    dep,
    trust,
  );
  assert.deepEqual(r.evidence, []);
  assert.deepEqual(codes(r.reasons), ['KEY_UNKNOWN']);
});

test('a trusted key signing for another verifier id is VSA_SIGNER_UNTRUSTED', () => {
  const r = evaluateVsas(
    bytes(signBundle(depVsa({ verifierId: 'https://source.example/verifier' }), store)),
    'x',
    dep,
    trust,
  );
  assert.deepEqual(r.evidence, []);
  assert.deepEqual(codes(r.reasons), ['VSA_SIGNER_UNTRUSTED']);
});

test('wrong resourceUri, FAILED result and another subject digest prove nothing', () => {
  const cases: Array<[unknown, string]> = [
    [depVsa({ resourceUri: 'pkg:npm/right-pad@1.0.0' }), 'VSA_MISMATCH'],
    [depVsa({ result: 'FAILED' }), 'VSA_MISMATCH'],
    [depVsa({ digest: { sha256: 'b'.repeat(64) } }), 'SUBJECT_MISMATCH'],
  ];
  for (const [statement, code] of cases) {
    const r = evaluateVsas(bytes(signBundle(statement, store)), 'x', dep, trust);
    assert.deepEqual(r.evidence, []);
    assert.deepEqual(codes(r.reasons), [code]);
  }
});

test('a level above the verifier trusted maximum is capped; a track it is not trusted for proves nothing', () => {
  const r = evaluateVsas(
    bytes(signBundle(depVsa({ levels: ['SLSA_BUILD_LEVEL_4', 'SLSA_SOURCE_LEVEL_2'] }), store)),
    'x',
    dep,
    trust,
  );
  assert.deepEqual(r.evidence[0]!.claimed, { build: 4, source: 2 });
  assert.deepEqual(r.evidence[0]!.proven, { build: 2 });
  assert.deepEqual(codes(r.reasons), ['UNTRUSTED_SIGNER', 'UNTRUSTED_SIGNER']);
});

test('malformed levels are ignored with a reason; properties are not levels', () => {
  assert.deepEqual(
    parseVerifiedLevels([
      'SLSA_BUILD_LEVEL_5',
      'SLSA_BUILD_LEVEL_03',
      'SLSA_LEVEL_3',
      'TAG_HYGIENE',
      'SLSA_SOURCE_LEVEL_1',
    ]),
    {
      levels: { source: 1 },
      malformed: ['SLSA_BUILD_LEVEL_5', 'SLSA_BUILD_LEVEL_03', 'SLSA_LEVEL_3'],
    },
  );
  const r = evaluateVsas(
    bytes(signBundle(depVsa({ levels: ['SLSA_BUILD_LEVEL_9'] }), store)),
    'x',
    dep,
    trust,
  );
  assert.deepEqual(r.evidence[0]!.proven, {});
  assert.deepEqual(codes(r.reasons), ['INPUT_INVALID']);
});

test('Source VSA: commit and ref must match; the level is capped at the verifier maximum', () => {
  const ok = evaluateVsas(
    bytes(signBundle(sourceVsa({ levels: ['SLSA_SOURCE_LEVEL_4'] }), source)),
    'note',
    rev,
    trust,
  );
  assert.deepEqual(ok.evidence[0]!.proven, { source: 3 });
  const otherRef = evaluateVsas(
    bytes(signBundle(sourceVsa({ sourceRefs: ['refs/heads/dev'] }), source)),
    'note',
    rev,
    trust,
  );
  assert.deepEqual([otherRef.evidence, codes(otherRef.reasons)], [[], ['REF_MISMATCH']]);
  const otherCommit = evaluateVsas(
    bytes(signBundle(sourceVsa({ digest: { gitCommit: 'd'.repeat(40) } }), source)),
    'note',
    rev,
    trust,
  );
  assert.deepEqual([otherCommit.evidence, codes(otherCommit.reasons)], [[], ['SUBJECT_MISMATCH']]);
  const noRefs = evaluateVsas(bytes(signBundle(sourceVsa({ sourceRefs: [] }), source)), 'note', rev, trust);
  assert.deepEqual(codes(noRefs.reasons), ['REF_MISMATCH']);
});

test('JSON lines: each line judged on its own', () => {
  const lines = [
    signBundle(sourceVsa(), source),
    signBundle(sourceVsa({ result: 'FAILED' }), source),
    signBundle(sourceVsa(), stranger),
  ]
    .map((b) => JSON.stringify(b))
    .join('\n');
  const r = evaluateVsas(Buffer.from(lines), 'note', rev, trust);
  assert.equal(r.evidence.length, 1);
  assert.equal(r.evidence[0]!.origin, 'note:1');
  assert.deepEqual(codes(r.reasons).sort(), ['SIGNATURE_ERROR', 'VSA_MISMATCH']);
});

test('cached evidence is re-checkable from its raw bytes; a changed trust configuration shows', () => {
  const { evidence } = evaluateVsas(bytes(signBundle(depVsa(), store)), 'x', dep, trust);
  assert.deepEqual(recheckEvidence(evidence, dep, trust).evidence[0]!.proven, { build: 2 });
  const lowered = createVsaTrust({
    verifiers: [{ id: 'https://store.example/verifier', tracks: { BUILD: 1 } }],
    signers: [
      { keyId: store.keyId, publicKey: store.publicKeyPem, verifierIds: ['https://store.example/verifier'] },
    ],
  });
  assert.notEqual(lowered.digest, trust.digest);
  assert.deepEqual(recheckEvidence(evidence, dep, lowered).evidence[0]!.proven, { build: 1 });
  const tampered = [{ ...evidence[0]!, raw: Buffer.from('{}').toString('base64') }];
  assert.deepEqual(codes(recheckEvidence(tampered, dep, trust).reasons), ['DIGEST_MISMATCH']);
});

test('the trust configuration is strict', () => {
  const v = [{ id: 'v', tracks: {} }];
  for (const bad of [
    { verifiers: v, signers: [{ keyId: 'k', verifierIds: ['v'] }] },
    {
      verifiers: v,
      signers: [
        { identity: 'i', issuer: 'x', keyId: 'k', publicKey: store.publicKeyPem, verifierIds: ['v'] },
      ],
    },
    { verifiers: [{ id: 'v', tracks: { BUILD: 5 } }], signers: [] },
    { verifiers: v, signers: [{ identity: 'i', issuer: 'x', verifierIds: ['v'], extra: 1 }] },
    // The old shape, a key inside its verifier, is refused rather than read half.
    { verifiers: [{ id: 'v', keyId: 'k', publicKey: store.publicKeyPem, tracks: {} }], signers: [] },
    { verifiers: [...v, ...v], signers: [] },
    {
      verifiers: v,
      signers: [
        { keyId: 'k', publicKey: store.publicKeyPem, verifierIds: ['v'] },
        { keyId: 'k', publicKey: source.publicKeyPem, verifierIds: ['v'] },
      ],
    },
  ]) {
    assert.throws(
      () => createVsaTrust(bad),
      (e) => isGateError(e) && e.code === 'CONFIG_INVALID',
    );
  }
});

test('a dependency named with its digest matches a resourceUri without it, and only that one', () => {
  const image: Resource = {
    kind: 'artifact',
    uri: `oci://reg.example/deps/base@sha256:${DIGEST}`,
    digest: { sha256: DIGEST },
  };
  const repoVsa = evaluateVsas(
    bytes(signBundle(depVsa({ resourceUri: 'oci://reg.example/deps/base' }), store)),
    'x',
    image,
    trust,
  );
  assert.deepEqual(repoVsa.evidence[0]?.proven, { build: 2 });
  const other = evaluateVsas(
    bytes(signBundle(depVsa({ resourceUri: 'oci://reg.example/deps/other' }), store)),
    'x',
    image,
    trust,
  );
  assert.deepEqual([other.evidence, codes(other.reasons)], [[], ['VSA_MISMATCH']]);
});

test('a Fulcio-signed statement is judged by its certificate identity and issuer (real GitHub bundle)', () => {
  // gh-cli's reusable-workflow attestation: a provenance, not a VSA, signed by GitHub's attest workflow.
  const dir = fileURLToPath(
    new URL('../../fixtures/corpus/gh-cli/github-attestation-reusable-workflow-valid/', import.meta.url),
  );
  const bytes = readFileSync(`${dir}bundle.sigstore.json`);
  const artifact: Resource = {
    kind: 'artifact',
    digest: { sha256: '49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25' },
  };
  const identity =
    'https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d';
  const issuer = 'https://token.actions.githubusercontent.com';
  const judge = (id: string, iss: string) =>
    codes(
      evaluateVsas(
        bytes,
        'gh',
        artifact,
        createVsaTrust({
          verifiers: [{ id: 'v', tracks: { BUILD: 3 } }],
          signers: [{ identity: id, issuer: iss, verifierIds: ['v'] }],
        }),
      ).reasons,
    );
  // The trusted identity gets past the signer check and stops at the predicate type.
  assert.deepEqual(judge(identity, issuer), ['PREDICATE_TYPE']);
  assert.deepEqual(judge(`${identity}x`, issuer), ['UNTRUSTED_SIGNER']);
  assert.deepEqual(judge(identity, 'https://accounts.google.com'), ['UNTRUSTED_SIGNER']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bindStatement } from '../../../src/core/verify/statement.ts';
import { findDuplicateKey } from '../../../src/core/verify/strict-json.ts';
import type { ArtifactRef } from '../../../src/core/model.ts';
import { code } from '../../helpers/error-code.ts';

// Statements built here by hand: the binding rules are about the parsed JSON only.
const bytes = new TextEncoder().encode('hello, world!');
const sha256 = createHash('sha256').update(bytes).digest('hex');
const sha512 = createHash('sha512').update(bytes).digest('hex');
const artifact: ArtifactRef = { digests: { sha256, sha512 } };
const PT = 'application/vnd.in-toto+json';

function stmt(subject: unknown, extra: Record<string, unknown> = {}): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject,
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
      ...extra,
    }),
  );
}

test('binds on sha256', () => {
  const r = bindStatement(PT, stmt([{ name: 'a', digest: { sha256 } }]), artifact, 't');
  assert.equal(r.predicateType, 'https://slsa.dev/provenance/v1');
  assert.equal(r.statement.subject.length, 1);
});

test('binds on sha512 only (npm tgz subjects)', () => {
  bindStatement(PT, stmt([{ name: 'a', digest: { sha512 } }]), artifact, 't');
});

test('sha512-only subject does not bind an artifact known only by sha256', () => {
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha512 } }]), { digests: { sha256 } }, 't')),
    'SUBJECT_MISMATCH',
  );
});

test('(a) a subject for another artifact is SUBJECT_MISMATCH', () => {
  const other = createHash('sha256').update('other').digest('hex');
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha256: other } }]), artifact, 't')),
    'SUBJECT_MISMATCH',
  );
});

test('sha256 matches but sha512 disagrees: no binding', () => {
  const bad = createHash('sha512').update('other').digest('hex');
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha256, sha512: bad } }]), artifact, 't')),
    'SUBJECT_MISMATCH',
  );
});

test('weak or unknown digest algorithms never bind by content', () => {
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  const md5 = createHash('md5').update(bytes).digest('hex');
  const withWeak: ArtifactRef = { digests: { sha256 }, namedDigests: {} };
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha1, md5 } }]), withWeak, 't')),
    'SUBJECT_MISMATCH',
  );
  // a truncated sha256 is not a sha256
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha256: sha256.slice(0, 40) } }]), artifact, 't')),
    'SUBJECT_MISMATCH',
  );
});

test('a digest named explicitly by the caller binds by exact match (BCID VSA gce_image_id)', () => {
  const vsaArtifact: ArtifactRef = {
    digests: { sha256: '' },
    namedDigests: { gce_image_id: '8970095005306000053' },
  };
  bindStatement(PT, stmt([{ name: '_', digest: { gce_image_id: '8970095005306000053' } }]), vsaArtifact, 't');
  assert.equal(
    code(() =>
      bindStatement(PT, stmt([{ digest: { gce_image_id: '8970095005306000054' } }]), vsaArtifact, 't'),
    ),
    'SUBJECT_MISMATCH',
  );
  // an empty sha256 never binds
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha256: '' } }]), vsaArtifact, 't')),
    'SUBJECT_MISMATCH',
  );
});

test('binds when any of several subjects matches', () => {
  const other = createHash('sha256').update('other').digest('hex');
  bindStatement(PT, stmt([{ digest: { sha256: other } }, { digest: { sha256 } }]), artifact, 't');
});

test('(c) payloadType other than in-toto is PAYLOAD_TYPE', () => {
  assert.equal(
    code(() => bindStatement('application/json', stmt([{ digest: { sha256 } }]), artifact, 't')),
    'PAYLOAD_TYPE',
  );
  assert.equal(
    code(() => bindStatement('application/vnd.in-toto+json ', stmt([{ digest: { sha256 } }]), artifact, 't')),
    'PAYLOAD_TYPE',
  );
});

test('statement _type must be in-toto v0.1 or v1', () => {
  const s = stmt([{ digest: { sha256 } }], { _type: 'https://in-toto.io/Statement/v2' });
  assert.equal(
    code(() => bindStatement(PT, s, artifact, 't')),
    'STATEMENT_TYPE',
  );
  const v01 = stmt([{ digest: { sha256 } }], { _type: 'https://in-toto.io/Statement/v0.1' });
  bindStatement(PT, v01, artifact, 't');
});

test('more than 1024 subjects is LIMIT_EXCEEDED', () => {
  const many = Array.from({ length: 1025 }, () => ({ digest: { sha256 } }));
  assert.equal(
    code(() => bindStatement(PT, stmt(many), artifact, 't')),
    'LIMIT_EXCEEDED',
  );
});

test('duplicate JSON keys are BUNDLE_MALFORMED, at any depth and through escapes', () => {
  const top = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${sha256}"}}],"predicateType":"a","predicateType":"b"}`;
  assert.equal(
    code(() => bindStatement(PT, new TextEncoder().encode(top), artifact, 't')),
    'BUNDLE_MALFORMED',
  );
  const deep = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${sha256}","sha\\u003256":"${sha256}"}}],"predicateType":"a"}`;
  assert.equal(
    code(() => bindStatement(PT, new TextEncoder().encode(deep), artifact, 't')),
    'BUNDLE_MALFORMED',
  );
  assert.equal(findDuplicateKey('{"a":{"b":1},"c":{"b":2},"d":[{"b":1},{"b":2}]}'), undefined);
  assert.equal(findDuplicateKey('{"a":[{"x":"{\\"b\\":1,\\"b\\":2}"}],"a":1}'), '$.a');
});

test('truncated or non-UTF-8 JSON is BUNDLE_MALFORMED', () => {
  assert.equal(
    code(() => bindStatement(PT, new TextEncoder().encode('{"_type":'), artifact, 't')),
    'BUNDLE_MALFORMED',
  );
  assert.equal(
    code(() => bindStatement(PT, new Uint8Array([0x7b, 0xff, 0x7d]), artifact, 't')),
    'BUNDLE_MALFORMED',
  );
});

test('a named digest the subject carries with another value blocks binding even when sha256 matches', () => {
  const both: ArtifactRef = { digests: { sha256 }, namedDigests: { gce_image_id: '1' } };
  bindStatement(PT, stmt([{ digest: { sha256, gce_image_id: '1' } }]), both, 't');
  bindStatement(PT, stmt([{ digest: { sha256 } }]), both, 't');
  assert.equal(
    code(() => bindStatement(PT, stmt([{ digest: { sha256, gce_image_id: '2' } }]), both, 't')),
    'SUBJECT_MISMATCH',
  );
});

test('docs/checklist.md#row-16: a weak hash the caller names (--digest sha1:…) never binds by exact match', () => {
  // Real material: the artifact and provenance of slsa-verifier's gha-generic-v2.1.0-dispatch-valid.
  // Attacker material: that provenance statement with its subject digest replaced by the
  // artifact's sha1 (and md5, sha224), as a signer of the attacker's own would sign it; the
  // caller names the same weak digest, as `slsa-gate verify --digest sha1:<hex>` does.
  const dir = new URL(
    '../../fixtures/corpus/slsa-verifier/gha-generic-v2.1.0-dispatch-valid/',
    import.meta.url,
  );
  const real = readFileSync(new URL('artifact', dir));
  const bundle = JSON.parse(readFileSync(new URL('provenance.intoto.jsonl', dir), 'utf8').split('\n')[0]!);
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  const realSha256 = createHash('sha256').update(real).digest('hex');
  assert.ok(
    bindStatement(
      PT,
      new TextEncoder().encode(JSON.stringify(statement)),
      { digests: { sha256: realSha256 } },
      't',
    ),
  );
  for (const alg of ['sha1', 'md5', 'sha224']) {
    const weak = createHash(alg).update(real).digest('hex');
    const forged = { ...statement, subject: [{ name: statement.subject[0].name, digest: { [alg]: weak } }] };
    const named: ArtifactRef = { digests: { sha256: '' }, namedDigests: { [alg]: weak } };
    assert.equal(
      code(() => bindStatement(PT, new TextEncoder().encode(JSON.stringify(forged)), named, 't')),
      'SUBJECT_MISMATCH',
      alg,
    );
  }
});

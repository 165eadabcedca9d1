/** Input form detection and the caps applied before any verification work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAttestations, MAX_INPUT_BYTES } from '../../../src/core/verify/load-attestations.ts';
import { code } from '../../helpers/error-code.ts';

const CORPUS = fileURLToPath(new URL('../../fixtures/corpus/', import.meta.url));
const read = (path: string): Buffer => readFileSync(join(CORPUS, path));
const enc = (v: unknown): Uint8Array =>
  new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const BUNDLE = 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid/provenance.intoto.jsonl';

test('a Sigstore bundle (pretty-printed JSON) is one bundle input with the exact bytes', () => {
  const bytes = read(BUNDLE);
  const inputs = loadAttestations(bytes, 'p.jsonl');
  assert.equal(inputs.length, 1);
  assert.equal(inputs[0]?.form, 'bundle');
  assert.deepEqual(Buffer.from(inputs[0]!.raw), bytes);
});

test('each accepted media type loads; an unknown one is BUNDLE_MALFORMED', () => {
  const bundle = JSON.parse(read(BUNDLE).toString('utf8')) as Record<string, unknown>;
  for (const mediaType of [
    'application/vnd.dev.sigstore.bundle+json;version=0.1',
    'application/vnd.dev.sigstore.bundle+json;version=0.2',
    'application/vnd.dev.sigstore.bundle+json;version=0.3',
    'application/vnd.dev.sigstore.bundle.v0.3+json',
  ]) {
    assert.equal(loadAttestations(enc({ ...bundle, mediaType }), 'b')[0]?.form, 'bundle');
  }
  assert.equal(
    code(() =>
      loadAttestations(enc({ ...bundle, mediaType: 'application/vnd.dev.sigstore.bundle.v0.4+json' }), 'b'),
    ),
    'BUNDLE_MALFORMED',
  );
});

test('JSON lines of bundles: one input per line, origin names the line', () => {
  const inputs = loadAttestations(
    read('gh-cli/npm-sigstore-2.1.0-two-bundles-custom-root/bundle.jsonl'),
    'b.jsonl',
  );
  assert.deepEqual(
    inputs.map((i) => [i.form, i.origin, i.form === 'bundle' ? i.container : undefined]),
    [
      ['bundle', 'b.jsonl:1', 'jsonl'],
      ['bundle', 'b.jsonl:2', 'jsonl'],
    ],
  );
});

test('the npm attestations document: one bundle input per attestation', () => {
  const inputs = loadAttestations(read('slsa-verifier/npm-sigstore-2.3.1-valid/attestations.json'), 'a.json');
  assert.deepEqual(
    inputs.map((i) => [i.form, i.origin, i.form === 'bundle' ? i.container : undefined]),
    [
      ['bundle', 'a.json#attestations[0]', 'npm-attestations'],
      ['bundle', 'a.json#attestations[1]', 'npm-attestations'],
    ],
  );
});

test('a bare DSSE envelope and GCB provenance are detected', () => {
  assert.equal(
    loadAttestations(read('slsa-verifier/vsa-google-bcid-valid/vsa.dsse.jsonl'), 'v')[0]?.form,
    'dsse',
  );
  assert.equal(
    loadAttestations(read('slsa-verifier/gha-generic-annotated-tag/provenance.intoto.jsonl'), 'p')[0]?.form,
    'dsse',
  );
  assert.equal(
    loadAttestations(read('slsa-verifier/gcb-v0.3-valid/provenance.gcb.json'), 'g')[0]?.form,
    'gcb',
  );
});

test('unknown forms, truncated JSON and duplicate keys are BUNDLE_MALFORMED', () => {
  assert.equal(
    code(() => loadAttestations(enc({ hello: 'world' }), 'x')),
    'BUNDLE_MALFORMED',
  );
  assert.equal(
    code(() => loadAttestations(enc('[1,2]'), 'x')),
    'BUNDLE_MALFORMED',
  );
  const text = read(BUNDLE).toString('utf8');
  assert.equal(
    code(() => loadAttestations(enc(text.slice(0, text.length / 2)), 'x')),
    'BUNDLE_MALFORMED',
  );
  const dup = text.replace(
    '"mediaType":',
    '"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "mediaType":',
  );
  assert.notEqual(dup, text);
  assert.equal(
    code(() => loadAttestations(enc(dup), 'x')),
    'BUNDLE_MALFORMED',
  );
  // a duplicate inside the DSSE envelope, in a JSON-lines file
  const line = JSON.stringify(JSON.parse(text)).replace('"payloadType":', '"payloadType":"x","payloadType":');
  assert.equal(
    code(() => loadAttestations(enc(`${line}\n${line}\n`), 'x')),
    'BUNDLE_MALFORMED',
  );
});

test('caps: input size, attestation count, tlog entries and signatures are LIMIT_EXCEEDED', () => {
  assert.equal(
    code(() => loadAttestations(new Uint8Array(MAX_INPUT_BYTES + 1), 'big')),
    'LIMIT_EXCEEDED',
  );
  const tiny = { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {} };
  const lines = Array.from({ length: 1001 }, () => JSON.stringify(tiny)).join('\n');
  assert.equal(
    code(() => loadAttestations(enc(lines), 'many')),
    'LIMIT_EXCEEDED',
  );
  const npm = { attestations: Array.from({ length: 1001 }, () => ({ predicateType: 'x', bundle: tiny })) };
  assert.equal(
    code(() => loadAttestations(enc(npm), 'npm')),
    'LIMIT_EXCEEDED',
  );
  const tlog = { ...tiny, verificationMaterial: { tlogEntries: Array.from({ length: 33 }, () => ({})) } };
  assert.equal(
    code(() => loadAttestations(enc(tlog), 'tlog')),
    'LIMIT_EXCEEDED',
  );
  const sigs = { payloadType: 'x', payload: '', signatures: Array.from({ length: 17 }, () => ({ sig: '' })) };
  assert.equal(
    code(() => loadAttestations(enc(sigs), 'sigs')),
    'LIMIT_EXCEEDED',
  );
});

test('npm document: each bundle input carries exactly its bytes in the document', () => {
  const bytes = read('slsa-verifier/npm-sigstore-2.3.1-valid/attestations.json');
  const doc = JSON.parse(bytes.toString('utf8')) as { attestations: Array<{ bundle: unknown }> };
  const inputs = loadAttestations(bytes, 'a.json');
  inputs.forEach((input, i) => {
    assert.ok(bytes.includes(Buffer.from(input.raw)), 'a substring of the document');
    assert.deepEqual(JSON.parse(Buffer.from(input.raw).toString('utf8')), doc.attestations[i]!.bundle);
  });
  // whitespace, escapes and non-ASCII around and inside the bundles
  const tricky = enc(
    '{ "note": "ünïcode \\" } ]", "attestations" : [ {"bundle" :\n {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"x":"é}"}} , "predicateType":"p"} ] }',
  );
  const [one] = loadAttestations(tricky, 't');
  assert.equal(
    Buffer.from(one!.raw).toString('utf8'),
    '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"x":"é}"}}',
  );
});

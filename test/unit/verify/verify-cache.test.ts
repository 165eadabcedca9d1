import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { LruCache, VerifyCache, verificationCacheKey } from '../../../src/core/verify/verify-cache.ts';

const DIR = fileURLToPath(
  new URL('../../fixtures/corpus/slsa-verifier/gha-generic-v2.1.0-dispatch-valid/', import.meta.url),
);
const inputs = loadAttestations(readFileSync(`${DIR}provenance.intoto.jsonl`), 'p');
const sha256 = createHash('sha256')
  .update(readFileSync(`${DIR}artifact`))
  .digest('hex');
const ctx = { artifact: { digests: { sha256 } }, trust: loadTrustMaterial() };

test('LRU evicts the least recently used entry', () => {
  const lru = new LruCache<number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  assert.equal(lru.get('a'), 1);
  lru.set('c', 3);
  assert.equal(lru.get('b'), undefined);
  assert.deepEqual([lru.get('a'), lru.get('c'), lru.size], [1, 3, 2]);
});

test('a second verification of the same bundle is a hit with the same result', () => {
  const cache = new VerifyCache(8);
  const first = cache.verifyAttestations(inputs, ctx, 'sha256:policy');
  const second = cache.verifyAttestations(inputs, ctx, 'sha256:policy');
  assert.equal(first.verified.length, 1);
  assert.deepEqual(second, first);
  assert.deepEqual([cache.misses, cache.hits], [1, 1]);
});

test('the key changes with the artifact, the trust material and the policy digest', () => {
  const input = inputs[0]!;
  const base = verificationCacheKey(input, ctx, 'p1');
  assert.notEqual(verificationCacheKey(input, ctx, 'p2'), base);
  assert.notEqual(
    verificationCacheKey(input, { ...ctx, artifact: { digests: { sha256: '0'.repeat(64) } } }, 'p1'),
    base,
  );
  const other = loadTrustMaterial({
    publicKeys: [
      {
        keyId: 'k',
        pem: readFileSync(
          fileURLToPath(
            new URL(
              '../../fixtures/corpus/sigstore-js/client-v0.1-dsse-pubkey-valid/key-1.pem',
              import.meta.url,
            ),
          ),
          'utf8',
        ),
      },
    ],
  });
  assert.notEqual(other.digest, ctx.trust.digest);
  assert.notEqual(verificationCacheKey(input, { ...ctx, trust: other }, 'p1'), base);
  assert.notEqual(verificationCacheKey(input, { ...ctx, allowV01WithoutInclusionProof: true }, 'p1'), base);
});

test('a rejection is cached as a rejection: another artifact is never served a cached pass', () => {
  const cache = new VerifyCache(8);
  cache.verifyAttestations(inputs, ctx);
  const other = { ...ctx, artifact: { digests: { sha256: '0'.repeat(64) } } };
  const r = cache.verifyAttestations(inputs, other);
  assert.deepEqual([r.verified.length, r.rejected[0]?.code], [0, 'SUBJECT_MISMATCH']);
  assert.equal(cache.verifyAttestations(inputs, other).rejected[0]?.code, 'SUBJECT_MISMATCH');
});

test('verifyBytes: a whole file outcome cached under its digest, load errors included', () => {
  const cache = new VerifyCache(8);
  const bytes = readFileSync(`${DIR}provenance.intoto.jsonl`);
  const first = cache.verifyBytes(bytes, 'p', ctx, 'policy');
  assert.equal(first.verified.length, 1);
  assert.deepEqual(cache.verifyBytes(bytes, 'p', ctx, 'policy'), first);
  assert.deepEqual([cache.misses, cache.hits], [1, 1]);
  const other = cache.verifyBytes(
    bytes,
    'p',
    { ...ctx, artifact: { digests: { sha256: '0'.repeat(64) } } },
    'policy',
  );
  assert.equal(other.rejected[0]?.code, 'SUBJECT_MISMATCH');
  const truncated = bytes.subarray(0, 100);
  assert.equal(cache.verifyBytes(truncated, 'p', ctx).rejected[0]?.code, 'BUNDLE_MALFORMED');
  assert.equal(cache.verifyBytes(truncated, 'p', ctx).rejected[0]?.code, 'BUNDLE_MALFORMED');
  assert.equal(cache.misses, 3);
});

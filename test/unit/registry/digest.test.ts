import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GateError, isRetryableError } from '../../../src/core/errors.ts';
import { digestLike, isDigest, sha256Digest } from '../../../src/registry/digest.ts';
import { referrersTag } from '../../../src/registry/referrers.ts';
import { cosignAttestationTag } from '../../../src/registry/cosign-attestations.ts';

test('sha256 of the empty JSON object is the OCI empty descriptor digest', () => {
  assert.equal(
    sha256Digest(new TextEncoder().encode('{}')),
    'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  );
});

test('digests are lowercase, full length, sha256 or sha512', () => {
  assert.equal(isDigest(`sha256:${'a'.repeat(64)}`), true);
  assert.equal(isDigest(`sha512:${'a'.repeat(128)}`), true);
  assert.equal(isDigest(`sha256:${'a'.repeat(63)}`), false);
  assert.equal(isDigest(`sha256:${'A'.repeat(64)}`), false);
  assert.equal(isDigest(`sha1:${'a'.repeat(40)}`), false);
  assert.equal(isDigest('latest'), false);
  const bytes = new TextEncoder().encode('x');
  assert.match(digestLike(`sha512:${'0'.repeat(128)}`, bytes), /^sha512:[a-f0-9]{128}$/);
});

test('referrers and cosign tags follow the tag schemas', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  assert.equal(referrersTag(digest), `sha256-${'ab'.repeat(32)}`);
  assert.equal(referrersTag(`sha512:${'c'.repeat(128)}`), `sha512-${'c'.repeat(64)}`);
  assert.equal(cosignAttestationTag(digest), `sha256-${'ab'.repeat(32)}.att`);
  assert.throws(
    () => referrersTag('v1'),
    (err: GateError) => err.code === 'INPUT_INVALID',
  );
});

test('retryability follows the code: the registry unavailable is retryable, a registry error is not', () => {
  assert.equal(isRetryableError(new GateError('REGISTRY_UNAVAILABLE', 'x')), true);
  assert.equal(isRetryableError(new GateError('REGISTRY_ERROR', 'x')), false);
  assert.equal(isRetryableError(new GateError('REGISTRY_AUTH', 'x')), false);
  assert.equal(isRetryableError(new Error('x')), false);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { toTemporalFailure } from '../../src/activities/failures.ts';
import {
  ERROR_CODES,
  ERRORS,
  GateError,
  isErrorCode,
  isGateError,
  isRetryable,
} from '../../src/core/errors.ts';

test('a GateError carries its code and detail', () => {
  const err = new GateError('SUBJECT_MISMATCH', 'artifact digest not among subjects', {
    detail: { path: '$.subject' },
  });
  assert.ok(isGateError(err));
  assert.equal(err.code, 'SUBJECT_MISMATCH');
  assert.deepEqual(err.detail, { path: '$.subject' });
  assert.equal(isGateError(new Error('plain')), false);
});

test('error codes are unique', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
});

test('each code has one layer and one retryability, from the one table', () => {
  for (const code of ERROR_CODES) {
    const err = new GateError(code, 'x');
    assert.equal(err.layer, ERRORS[code].layer);
    assert.equal(err.retryable, ERRORS[code].retryable);
    assert.equal(isRetryable(code), ERRORS[code].retryable);
  }
  // Only a service that did not answer is worth asking again; a denial would fail again.
  const retryable = ERROR_CODES.filter(isRetryable).sort();
  assert.deepEqual(retryable, [
    'ARCHIVE_UNAVAILABLE',
    'ATTESTOR_UNAVAILABLE',
    'REGISTRY_UNAVAILABLE',
    'TRUST_ROOT_UNAVAILABLE',
  ]);
  for (const code of retryable) assert.equal(ERRORS[code].layer, 'infrastructure');
  // Verified is not trusted: a signature that does not verify and a signer policy does not trust are different layers.
  assert.equal(ERRORS.SIGNATURE_ERROR.layer, 'verification');
  assert.equal(ERRORS.UNTRUSTED_SIGNER.layer, 'policy');
  assert.equal(ERRORS.BUILDER_UNTRUSTED.layer, 'policy');
});

test('a string is a code only when the table has it', () => {
  assert.equal(isErrorCode('APPROVER_NOT_ALLOWED'), true);
  assert.equal(isErrorCode('APPROVER_NOT_ALLOWED: the policy requires'), false);
  assert.equal(isErrorCode('toString'), false);
  assert.equal(isErrorCode(undefined), false);
});

test('the activity boundary makes a failure of each code, non-retryable exactly when the code says so', () => {
  const denial = toTemporalFailure(new GateError('SUBJECT_MISMATCH', 'not among the subjects'));
  assert.ok(denial instanceof ApplicationFailure);
  assert.equal(denial.type, 'SUBJECT_MISMATCH');
  assert.equal(denial.nonRetryable, true);
  const outage = toTemporalFailure(new GateError('REGISTRY_UNAVAILABLE', 'registry answered 503'));
  assert.ok(outage instanceof ApplicationFailure);
  assert.equal(outage.type, 'REGISTRY_UNAVAILABLE');
  assert.equal(outage.nonRetryable, false);
  // Not ours (a store driver's outage): passed on as it is, retried under the activity's policy.
  const driver = new Error('connection reset');
  assert.equal(toTemporalFailure(driver), driver);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { MongoNetworkError } from 'mongodb';
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
    'DRIFT_NOTICE_UNDELIVERED',
    'REGISTRY_UNAVAILABLE',
    'TEMPORAL_UNAVAILABLE',
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
});

test('an error without a code crosses the activity boundary coded and bounded', () => {
  // A store driver's outage: ARCHIVE_UNAVAILABLE, still retried under the activity's policy.
  // Before: passed on as it was (an uncoded failure).
  const driver = toTemporalFailure(new MongoNetworkError('connection 4 to 127.0.0.1:27017 closed'));
  assert.ok(driver instanceof ApplicationFailure);
  assert.equal(driver.type, 'ARCHIVE_UNAVAILABLE');
  assert.equal(driver.nonRetryable, false);
  assert.match(driver.message, /MongoNetworkError: connection 4 to 127\.0\.0\.1:27017 closed/);

  // Anything else: INTERNAL_ERROR, not retried, its kind and one bounded line.
  // Made here: a 100 KB message over many lines with terminal escapes, as a library's error
  // quoting a response body would be. Before: passed on as it was, text and stack.
  const huge = Array.from({ length: 2000 }, (_, i) => `\u001b[2Kbody line ${i} ${'y'.repeat(40)}`).join('\n');
  const internal = toTemporalFailure(new RangeError(huge));
  assert.ok(internal instanceof ApplicationFailure);
  assert.equal(internal.type, 'INTERNAL_ERROR');
  assert.equal(internal.nonRetryable, true);
  assert.match(internal.message, /^RangeError: /);
  assert.ok(internal.message.length < 400, `${internal.message.length} characters`);
  assert.doesNotMatch(internal.message, /[\n\u001b]|body line 1 /);
  // A system error keeps its errno name, which says what happened.
  const eisdir = Object.assign(new Error('EISDIR: illegal operation on a directory, read'), {
    code: 'EISDIR',
  });
  assert.match((toTemporalFailure(eisdir) as ApplicationFailure).message, /^Error EISDIR: EISDIR/);
  // Not even an Error.
  assert.equal((toTemporalFailure('thrown string') as ApplicationFailure).type, 'INTERNAL_ERROR');

  // Our own codes keep their message, bounded too.
  const long = toTemporalFailure(new GateError('POLICY_INVALID', 'p'.repeat(100_000)));
  assert.ok(long instanceof ApplicationFailure);
  assert.equal(long.type, 'POLICY_INVALID');
  assert.ok(long.message.length <= 4001);

  // Temporal's own signals pass as they are: a cancellation must stay a cancellation.
  const cancelled = new CancelledFailure('activity cancelled');
  assert.equal(toTemporalFailure(cancelled), cancelled);
});

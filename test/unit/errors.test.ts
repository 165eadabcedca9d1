import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, GateError, isGateError } from '../../src/core/errors.ts';

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

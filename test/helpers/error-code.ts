import assert from 'node:assert/strict';
import { isGateError, type ErrorCode } from '../../src/core/errors.ts';

/** The code of the GateError `fn` throws; fails the test when it throws something else or nothing. */
export function code(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (err) {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error');
}

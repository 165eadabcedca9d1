/** docs/security-model.md#how-a-run-ends: what the reaper reads from a closed run's last history event. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runEndOf } from '../../../src/activities/run-ends.ts';

const closeTime = new Date('2026-03-01T10:00:00.000Z');

test('a terminated run ends `terminated`, by the terminating client identity, with its reason and close time', () => {
  const end = runEndOf(
    { status: { code: 5, name: 'TERMINATED' }, closeTime },
    { workflowExecutionTerminatedEventAttributes: { identity: 'ops@bastion', reason: 'stuck' } },
  );
  assert.deepEqual(end, {
    status: 'terminated',
    code: 'TERMINATED',
    reason: 'terminated in Temporal by ops@bastion: stuck',
    by: 'temporal:ops@bastion',
    at: closeTime.toISOString(),
    data: { identity: 'ops@bastion', reason: 'stuck' },
  });
});

test('what the terminating client wrote is bounded, and a missing identity is named as unknown', () => {
  // A client with namespace access chooses its identity and reason freely: here, 1 MB of each.
  const huge = 'x'.repeat(1 << 20);
  const end = runEndOf(
    { status: { code: 5, name: 'TERMINATED' }, closeTime },
    { workflowExecutionTerminatedEventAttributes: { identity: huge, reason: huge } },
  );
  assert.ok(end && end.by.length <= 1024 + 'temporal:'.length && end.reason.length < 2100);
  // And terminal control sequences: an ANSI escape in the identity would reach `audit show`.
  const escaped = runEndOf(
    { status: { code: 5, name: 'TERMINATED' }, closeTime },
    { workflowExecutionTerminatedEventAttributes: { identity: 'ops\u001b[2Jroot', reason: 'a\nb' } },
  );
  assert.equal(escaped?.by, 'temporal:ops?[2Jroot');
  assert.deepEqual(escaped?.data, { identity: 'ops?[2Jroot', reason: 'a?b' });
  const anonymous = runEndOf(
    { status: { code: 5, name: 'TERMINATED' }, closeTime },
    { workflowExecutionTerminatedEventAttributes: {} },
  );
  assert.equal(anonymous?.by, 'temporal:unknown client');
  assert.equal(anonymous?.reason, 'terminated in Temporal by unknown client');
});

test('a timed-out run ends `timed-out`; any other close, or a close event that does not match, is no forced end', () => {
  const timedOut = runEndOf(
    { status: { code: 7, name: 'TIMED_OUT' }, closeTime },
    { workflowExecutionTimedOutEventAttributes: {} },
  );
  assert.equal(timedOut?.status, 'timed-out');
  assert.equal(timedOut?.code, 'TIMED_OUT');
  assert.equal(timedOut?.at, closeTime.toISOString());
  assert.equal(
    runEndOf(
      { status: { code: 2, name: 'COMPLETED' }, closeTime },
      { workflowExecutionCompletedEventAttributes: {} },
    ),
    undefined,
  );
  assert.equal(
    runEndOf(
      { status: { code: 5, name: 'TERMINATED' }, closeTime },
      { workflowExecutionTimedOutEventAttributes: {} },
    ),
    undefined,
  );
});

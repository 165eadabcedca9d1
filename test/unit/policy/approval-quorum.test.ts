/**
 * The one decision of who may approve (src/core/policy/approval-quorum.ts): how a rule reads
 * as a quorum, and whether a verdict counts. Identities are made here as the API would seal
 * them; the attacker's are the same shapes with the field that matters changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identity } from '../../../src/core/identity.ts';
import {
  approvalQuorumOf,
  verdictCounts,
  type ApprovalQuorum,
  type QuorumState,
} from '../../../src/core/policy/approval-quorum.ts';
import { PolicyRuleSchema } from '../../../src/core/policy/policy-rule.ts';

const token = (name: string, groups?: string[]): Identity => ({
  kind: 'token',
  id: `token:${name}`,
  name,
  ...(groups ? { groups } : {}),
});
const ci = token('ci', ['release-managers']);
const alice = token('alice', ['release-managers']);
const carol = token('carol', ['security']);
const state = (over: Partial<QuorumState> = {}): QuorumState => ({
  requester: ci,
  given: [],
  unverifiedAllowed: false,
  ...over,
});
const rule = (fields: object) => PolicyRuleSchema.parse({ artifacts: ['x'], ...fields });

test('the rule fields read as one quorum', () => {
  assert.deepEqual(approvalQuorumOf(rule({ approvalRequired: true })), {
    required: 1,
    excludeRequester: false,
  });
  // docs/security-model.md#approvals: the two-person rule is one approver other than the requester.
  assert.deepEqual(approvalQuorumOf(rule({ twoPersonRule: true })), { required: 1, excludeRequester: true });
  assert.deepEqual(approvalQuorumOf(rule({ approvals: { required: 2, from: ['release-managers'] } })), {
    required: 2,
    groups: ['release-managers'],
    excludeRequester: true,
  });
  assert.deepEqual(approvalQuorumOf(rule({ approvals: { required: 1 }, approvers: ['token:alice'] })), {
    required: 1,
    approvers: ['token:alice'],
    excludeRequester: true,
  });
  assert.throws(() => rule({ approvals: { required: 0 } }));
  assert.throws(() => rule({ approvals: { required: 2, from: [] } }));
  assert.throws(() => rule({ approvals: { required: 2, form: ['release-managers'] } }), 'a typo fails');
});

test('a quorum from a group: members other than the requester count once each', () => {
  const quorum: ApprovalQuorum = { required: 2, groups: ['release-managers'], excludeRequester: true };
  assert.deepEqual(verdictCounts(quorum, { identity: alice, typedName: 'alice' }, state()), {
    counts: true,
    group: 'release-managers',
  });
  const refused = (sender: Parameters<typeof verdictCounts>[1], s = state()) =>
    assert.equal(verdictCounts(quorum, sender, s).counts, false, JSON.stringify(sender));
  refused(
    { identity: alice, typedName: 'alice' },
    state({ given: [{ approver: alice.id, identity: alice }] }),
  );
  refused({ identity: ci, typedName: 'not-ci' });
  refused({ identity: carol, typedName: 'carol' });
  refused({ identity: token('dana'), typedName: 'dana' });
  // A member's verdict on a publish nobody verified asking for: the requester is unknown.
  refused({ identity: alice, typedName: 'alice' }, state({ requester: undefined }));
  // A typed name counts nowhere a quorum is asked, even where typed names are allowed.
  refused({ typedName: 'alice' }, state({ unverifiedAllowed: true }));
});

test('named approvers are matched exactly or by an anchored pattern', () => {
  const quorum: ApprovalQuorum = { required: 1, approvers: ['^token:lead-[a-z]+$'], excludeRequester: false };
  assert.equal(verdictCounts(quorum, { identity: token('lead-ann'), typedName: 'x' }, state()).counts, true);
  assert.equal(
    verdictCounts(quorum, { identity: token('lead-ann.evil'), typedName: 'x' }, state()).counts,
    false,
  );
});

test('a typed name counts only where one approval from anyone will do, and only when allowed', () => {
  const anyone: ApprovalQuorum = { required: 1, excludeRequester: false };
  assert.equal(verdictCounts(anyone, { typedName: 'ops' }, state()).counts, false);
  assert.deepEqual(verdictCounts(anyone, { typedName: 'ops' }, state({ unverifiedAllowed: true })), {
    counts: true,
  });
  const twoPerson: ApprovalQuorum = { required: 1, excludeRequester: true };
  assert.equal(
    verdictCounts(twoPerson, { typedName: 'not-ci' }, state({ unverifiedAllowed: true })).counts,
    false,
  );
});

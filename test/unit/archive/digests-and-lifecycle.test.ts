import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisionFilter } from '../../../src/archive/audit-filters.ts';
import { canonicalJson } from '../../../src/core/canonical-json.ts';
import { computeEvidenceDigest, sha256Digest } from '../../../src/archive/digest.ts';
import { DecisionStatusSchema, isFinalStatus, transitionRefusal } from '../../../src/archive/lifecycle.ts';

const a = sha256Digest('a');
const b = sha256Digest('b');
const policy = sha256Digest('policy');

test('canonical JSON sorts keys at every level and drops undefined members', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } }),
    '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
  );
});

test('the evidence digest ignores order and duplicates but not the policy or the set', () => {
  const digest = computeEvidenceDigest([a, b], policy);
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(computeEvidenceDigest([b, a, b], policy), digest);
  assert.notEqual(computeEvidenceDigest([a], policy), digest);
  assert.notEqual(computeEvidenceDigest([a, b], sha256Digest('other policy')), digest);
  assert.equal(
    digest,
    sha256Digest(JSON.stringify({ attestations: [a, b].sort(), policy })),
    'the documented encoding: canonical JSON of {attestations, policy}',
  );
});

test('lifecycle: only legal moves, publish only when PASSED or approved, waiting only when approval is needed', () => {
  assert.equal(transitionRefusal('PASSED', 'decided', 'published'), undefined);
  assert.equal(transitionRefusal('NEEDS_APPROVAL', 'decided', 'awaiting-approval'), undefined);
  assert.equal(transitionRefusal('NEEDS_APPROVAL', 'approved', 'published'), undefined);
  assert.equal(transitionRefusal('FAILED', 'decided', 'denied'), undefined);
  assert.equal(transitionRefusal('NEEDS_APPROVAL', 'awaiting-approval', 'denied'), undefined);
  assert.ok(transitionRefusal('FAILED', 'decided', 'published'));
  assert.ok(transitionRefusal('NEEDS_APPROVAL', 'decided', 'published'));
  assert.ok(transitionRefusal('PASSED', 'decided', 'awaiting-approval'));
  assert.ok(transitionRefusal('NEEDS_APPROVAL', 'decided', 'approved'));
  for (const final of ['published', 'denied', 'rejected', 'expired'] as const) {
    assert.ok(transitionRefusal('PASSED', final, 'decided'));
    assert.ok(transitionRefusal('NEEDS_APPROVAL', final, 'approved'));
  }
});

test('lifecycle: a termination or a timeout ends any open decision, and nothing moves it afterwards', () => {
  for (const end of ['terminated', 'timed-out'] as const) {
    for (const open of ['decided', 'awaiting-approval', 'approved'] as const) {
      assert.equal(transitionRefusal('NEEDS_APPROVAL', open, end), undefined, `${open} → ${end}`);
      assert.equal(isFinalStatus(open), false);
    }
    assert.equal(isFinalStatus(end), true);
    for (const final of ['published', 'denied', 'rejected', 'expired', 'cancelled'] as const)
      assert.ok(transitionRefusal('PASSED', final, end), `${final} → ${end}`);
    for (const next of DecisionStatusSchema.options) assert.ok(transitionRefusal('PASSED', end, next));
  }
});

test('audit filters become one flat conjunction over the indexed fields', () => {
  assert.deepEqual(decisionFilter({}), {});
  assert.deepEqual(decisionFilter({ outcome: 'FAILED' }), { outcome: 'FAILED' });
  assert.deepEqual(
    decisionFilter({ builderId: 'x', failingCode: 'BUILDER_UNTRUSTED', since: '2026-01-01T00:00:00Z' }, [
      'd1',
    ]),
    {
      'builder.id': 'x',
      failingCodes: 'BUILDER_UNTRUSTED',
      _id: { $in: ['d1'] },
      decidedAt: { $gte: new Date('2026-01-01T00:00:00Z') },
    },
  );
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Archive, collectionsOf, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { computeEvidenceDigest, sha256Digest } from '../../../src/archive/digest.ts';
import { GateError, type ErrorCode } from '../../../src/core/errors.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, fakeDigest, makeAttestation, makeDecision } from './make-records.ts';

let archive: Archive;
before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('archive').replaceAll('-', '_'));
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

function rejectsWith(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof GateError, `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

describe('recordDecision', () => {
  test('stores a decision with its derived fields and a creation event', async () => {
    const input = makeDecision('rec-1');
    assert.deepEqual(await archive.recordDecision(input), { decisionId: input.decisionId, created: true });
    const stored = await archive.getDecision(input.decisionId);
    assert.ok(stored);
    assert.equal(stored.status, 'decided');
    assert.equal(stored.decidedAt, '2026-03-01T10:00:05.000Z');
    assert.equal(stored.day, '2026-03-01');
    assert.equal(
      stored.evidenceDigest,
      computeEvidenceDigest([attestationDigest('rec-1')], fakeDigest('policy-1')),
    );
    assert.deepEqual(stored.failingCodes, []);
    const events = await collectionsOf(archive).events.find({ decisionId: input.decisionId }).toArray();
    assert.deepEqual(
      events.map((e) => [e.from, e.to]),
      [[null, 'decided']],
    );
  });

  test('the same decision twice is one document (a retry after a crash succeeds)', async () => {
    const input = makeDecision('rec-2', {
      exceptions: [
        {
          check: 'dependencies',
          subject: 'pkg:npm/left-pad@1.3.0',
          grantedBy: 'sec@acme.example',
          reason: 'vendored, reviewed',
          grantedAt: '2026-02-01T00:00:00Z',
        },
      ],
    });
    assert.equal((await archive.recordDecision(input)).created, true);
    // Same instant written differently must compare equal: a retry, which did not create it.
    const retried = await archive.recordDecision({ ...input, decidedAt: '2026-03-01T11:00:05+01:00' });
    assert.equal(retried.created, false);
    assert.equal(await collectionsOf(archive).decisions.countDocuments({ _id: input.decisionId }), 1);
    assert.equal(await collectionsOf(archive).exceptions.countDocuments({ decisionId: input.decisionId }), 1);
    assert.equal(await collectionsOf(archive).events.countDocuments({ decisionId: input.decisionId }), 1);
  });

  test('a different decision under the same id is refused and nothing is overwritten', async () => {
    const input = makeDecision('rec-3');
    await archive.recordDecision(input);
    await assert.rejects(
      archive.recordDecision({ ...input, outcome: 'NEEDS_APPROVAL' }),
      rejectsWith('ARCHIVE_ERROR'),
    );
    assert.equal((await archive.getDecision(input.decisionId))?.outcome, 'PASSED');
  });

  test('a second decision id for the same workflow run is refused', async () => {
    const input = makeDecision('rec-4');
    await archive.recordDecision(input);
    await assert.rejects(
      archive.recordDecision({ ...input, decisionId: 'another-id' }),
      rejectsWith('ARCHIVE_ERROR'),
    );
  });

  test('malformed input and a PASSED decision with a failing check are INPUT_INVALID', async () => {
    await assert.rejects(
      archive.recordDecision({
        ...makeDecision('rec-5'),
        artifact: { repository: 'r', digest: 'sha256:xyz' },
      }),
      rejectsWith('INPUT_INVALID'),
    );
    await assert.rejects(
      archive.recordDecision({ ...makeDecision('rec-5'), unexpected: true } as never),
      rejectsWith('INPUT_INVALID'),
    );
    const failing = makeDecision('rec-6');
    failing.checks = [
      { id: 'builder', result: 'FAIL', code: 'BUILDER_UNTRUSTED', reason: 'unknown builder' },
    ];
    await assert.rejects(archive.recordDecision(failing), rejectsWith('INPUT_INVALID'));
    assert.equal(await archive.getDecision(failing.decisionId), null);
  });

  test('a stored decision that does not match its schema is ARCHIVE_ERROR on read', async () => {
    await collectionsOf(archive).decisions.insertOne({
      _id: 'corrupt-1',
      schemaVersion: 1,
      outcome: 'MAYBE',
    } as never);
    await assert.rejects(archive.getDecision('corrupt-1'), rejectsWith('ARCHIVE_ERROR'));
  });
});

describe('storeAttestations, storePolicy, storeVsa', () => {
  test('attestations are content-addressed; a second sighting is appended, not overwritten', async () => {
    const att = makeAttestation('att-1');
    const { digests } = await archive.storeAttestations([att]);
    assert.deepEqual(digests, [attestationDigest('att-1')]);
    await archive.storeAttestations([att]); // retry
    await archive.storeAttestations([{ ...att, origin: 'inline[0]', fetchedAt: '2026-03-02T00:00:00Z' }]);
    assert.equal(await collectionsOf(archive).attestations.countDocuments({ _id: digests[0] }), 1);
    const stored = await collectionsOf(archive).attestations.findOne({ _id: digests[0]! });
    assert.equal(stored?.origin, att.origin);
    assert.deepEqual(stored?.subjectDigests, [fakeDigest('artifact-att-1')]);
    assert.equal(sha256Digest(Buffer.from(stored!.raw.buffer)), digests[0]);
    const sightings = await collectionsOf(archive)
      .sightings.find({ digest: digests[0]! })
      .sort({ fetchedAt: 1 })
      .toArray();
    assert.deepEqual(
      sightings.map((s) => s.origin),
      [att.origin, 'inline[0]'],
    );
  });

  test('the same bytes with other derived facts keep the first facts; the new ones go with the sighting', async () => {
    const att = makeAttestation('att-2');
    await archive.storeAttestations([att]);
    const later = { ...att, builderId: 'https://other.example/builder', fetchedAt: '2026-03-09T00:00:00Z' };
    await archive.storeAttestations([later]);
    const stored = await collectionsOf(archive).attestations.findOne({ _id: attestationDigest('att-2') });
    assert.equal(stored?.builderId, att.builderId);
    const sightings = await collectionsOf(archive)
      .sightings.find({ digest: attestationDigest('att-2') })
      .sort({ fetchedAt: 1 })
      .toArray();
    assert.deepEqual(
      sightings.map((s) => (JSON.parse(s.facts) as { builderId: string }).builderId),
      [att.builderId, later.builderId],
    );
  });

  test('oversized and malformed attestations are refused before storing', async () => {
    await assert.rejects(
      archive.storeAttestations([makeAttestation('att-3', { raw: 'not base64!' })]),
      rejectsWith('INPUT_INVALID'),
    );
    const big = Buffer.alloc(8 * 1024 * 1024 + 1).toString('base64');
    await assert.rejects(
      archive.storeAttestations([makeAttestation('att-4', { raw: big })]),
      rejectsWith('LIMIT_EXCEEDED'),
    );
  });

  test('policies are stored once per (digest, text); an equivalent text under the same digest is kept too', async () => {
    const digest = fakeDigest('parsed policy');
    const text = 'version: 1\nrules: []\n';
    await archive.storePolicy(digest, text);
    await archive.storePolicy(digest, text);
    await archive.storePolicy(digest, '{"version":1,"rules":[]}');
    const stored = await collectionsOf(archive).policies.find({ digest }).toArray();
    assert.equal(stored.length, 2);
    assert.ok(stored.every((p) => p.textDigest === sha256Digest(p.text)));
    await assert.rejects(archive.storePolicy('not-a-digest', text), rejectsWith('INPUT_INVALID'));
  });

  test('VSAs are stored once per decision and direction', async () => {
    const vsa = {
      raw: Buffer.from('{"vsa":1}').toString('base64'),
      direction: 'issued' as const,
      decisionId: 'publish-vsa/run-1',
      subjectDigest: fakeDigest('artifact-vsa'),
      resourceUri: 'oci://127.0.0.1:5000/release/app',
      verifierId: 'https://slsa-gate.example/verifier',
      verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
      at: '2026-03-01T10:01:00Z',
    };
    const { digest } = await archive.storeVsa(vsa);
    assert.equal(digest, sha256Digest('{"vsa":1}'));
    await archive.storeVsa(vsa);
    await archive.storeVsa({ ...vsa, direction: 'consumed', decisionId: 'publish-other/run-1' });
    assert.equal(await collectionsOf(archive).vsas.countDocuments({ digest }), 2);
    await assert.rejects(archive.storeVsa({ ...vsa, verifiedLevels: [] }), rejectsWith('ARCHIVE_ERROR'));
  });
});

describe('transitions, approvals and publishing', () => {
  test('a PASSED decision is published exactly once; a retry succeeds, another destination does not', async () => {
    const input = makeDecision('pub-1');
    await archive.recordDecision(input);
    const where = {
      repository: '127.0.0.1:5000/release/app',
      digest: input.artifact.digest,
      tag: 'v1.0.0',
      vsaDigest: fakeDigest('vsa-pub-1'),
      at: '2026-03-01T10:02:00.000Z',
    };
    assert.deepEqual(await archive.markPublished(input.decisionId, where), { status: 'published' });
    assert.deepEqual(await archive.markPublished(input.decisionId, where), { status: 'published' });
    await assert.rejects(
      archive.markPublished(input.decisionId, { ...where, repository: '127.0.0.1:5000/other/app' }),
      rejectsWith('ARCHIVE_ERROR'),
    );
    const stored = await archive.getDecision(input.decisionId);
    assert.equal(stored?.status, 'published');
    assert.deepEqual(stored?.published, where);
    const events = await collectionsOf(archive)
      .events.find({ decisionId: input.decisionId, to: 'published' })
      .toArray();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.from, 'decided');
  });

  test('concurrent markPublished calls to two destinations: exactly one wins', async () => {
    const input = makeDecision('pub-2');
    await archive.recordDecision(input);
    const base = { digest: input.artifact.digest, at: '2026-03-01T10:02:00.000Z' };
    const results = await Promise.allSettled([
      archive.markPublished(input.decisionId, { ...base, repository: 'r/one' }),
      archive.markPublished(input.decisionId, { ...base, repository: 'r/two' }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(
      await collectionsOf(archive).events.countDocuments({ decisionId: input.decisionId, to: 'published' }),
      1,
    );
  });

  test('publishing a digest other than the decided one, or a FAILED decision, is refused', async () => {
    const input = makeDecision('pub-3');
    await archive.recordDecision(input);
    await assert.rejects(
      archive.markPublished(input.decisionId, {
        repository: 'r',
        digest: fakeDigest('other'),
        at: '2026-03-01T10:02:00Z',
      }),
      rejectsWith('ARCHIVE_ERROR'),
    );
    const failed = makeDecision('pub-4', {
      outcome: 'FAILED',
      checks: [{ id: 'builder', result: 'FAIL', code: 'BUILDER_UNTRUSTED', reason: 'unknown builder' }],
    });
    await archive.recordDecision(failed);
    await assert.rejects(
      archive.markPublished(failed.decisionId, {
        repository: 'r',
        digest: failed.artifact.digest,
        at: '2026-03-01T10:02:00Z',
      }),
      rejectsWith('ARCHIVE_ERROR'),
    );
    await archive.transition(failed.decisionId, 'decided', 'denied', 'slsa-gate');
    assert.equal((await archive.getDecision(failed.decisionId))?.status, 'denied');
  });

  test('illegal transitions are refused; a repeated transition is idempotent and records one event', async () => {
    const input = makeDecision('tr-1', { outcome: 'NEEDS_APPROVAL' });
    await archive.recordDecision(input);
    await assert.rejects(
      archive.transition(input.decisionId, 'decided', 'approved'),
      rejectsWith('ARCHIVE_ERROR'),
    );
    await assert.rejects(
      archive.transition(input.decisionId, 'decided', 'published'),
      rejectsWith('ARCHIVE_ERROR'),
    );
    await assert.rejects(
      archive.transition(input.decisionId, 'approved', 'denied'),
      rejectsWith('ARCHIVE_ERROR'),
    );
    await assert.rejects(
      archive.transition('no-such-decision', 'decided', 'denied'),
      rejectsWith('ARCHIVE_ERROR'),
    );
    await archive.transition(input.decisionId, 'decided', 'awaiting-approval', 'slsa-gate');
    await archive.transition(input.decisionId, 'decided', 'awaiting-approval', 'slsa-gate');
    // Approval needs a recorded verdict first.
    await assert.rejects(
      archive.transition(input.decisionId, 'awaiting-approval', 'approved', 'alice'),
      rejectsWith('ARCHIVE_ERROR'),
    );
    const approval = {
      approver: 'alice@acme.example',
      verdict: 'approve' as const,
      reason: 'reviewed',
      at: '2026-03-01T11:00:00Z',
      verified: true,
    };
    await archive.recordApproval(input.decisionId, approval);
    await archive.recordApproval(input.decisionId, approval);
    await assert.rejects(
      archive.recordApproval(input.decisionId, { ...approval, verdict: 'reject' }),
      rejectsWith('ARCHIVE_ERROR'),
    );
    await archive.transition(input.decisionId, 'awaiting-approval', 'approved', 'alice@acme.example', {
      ticket: 'SEC-1',
    });
    await archive.markPublished(input.decisionId, {
      repository: 'r/app',
      digest: input.artifact.digest,
      at: '2026-03-01T11:01:00Z',
    });
    // Once approved, a new verdict is refused but an exact retry of the recorded one is not.
    await archive.recordApproval(input.decisionId, approval);
    await assert.rejects(
      archive.recordApproval(input.decisionId, { ...approval, approver: 'bob@acme.example' }),
      rejectsWith('ARCHIVE_ERROR'),
    );
    const events = await collectionsOf(archive)
      .events.find({ decisionId: input.decisionId })
      .sort({ at: 1 })
      .toArray();
    assert.deepEqual(
      events.map((e) => `${e.from ?? ''}>${e.to}`),
      ['>decided', 'decided>awaiting-approval', 'awaiting-approval>approved', 'approved>published'],
    );
    assert.equal(events[2]?.by, 'alice@acme.example');
    assert.equal(events[2]?.data, '{"ticket":"SEC-1"}');
    assert.equal((await archive.listApprovals(input.decisionId)).length, 1);
  });

  test('approvals on a decision that does not need one are refused', async () => {
    const input = makeDecision('tr-2');
    await archive.recordDecision(input);
    await assert.rejects(
      archive.recordApproval(input.decisionId, {
        approver: 'a',
        verdict: 'approve',
        reason: 'r',
        at: '2026-03-01T11:00:00Z',
        verified: true,
      }),
      rejectsWith('ARCHIVE_ERROR'),
    );
  });

  test('findDecisionsByDigest returns every decision on a digest, newest first', async () => {
    const first = makeDecision('fd-1');
    const second = makeDecision('fd-1', {
      decisionId: 'publish-fd-1/run-2',
      runId: 'run-2',
      decidedAt: '2026-03-02T00:00:00Z',
    });
    await archive.recordDecision(first);
    await archive.recordDecision(second);
    const found = await archive.findDecisionsByDigest(first.artifact.digest);
    assert.deepEqual(
      found.map((d) => d._id),
      [second.decisionId, first.decisionId],
    );
  });
});

describe('store unavailable', () => {
  test('is a driver error, not a GateError, so the activity retries it (docs/checklist.md#row-33)', async () => {
    await assert.rejects(
      openArchive('mongodb://127.0.0.1:1/', 'unreachable', { serverSelectionTimeoutMS: 300 }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(!(err instanceof GateError), 'a store outage must stay retryable');
        assert.equal(err.name, 'MongoServerSelectionError');
        return true;
      },
    );
  });
});

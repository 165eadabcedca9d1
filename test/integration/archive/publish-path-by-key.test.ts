/**
 * The publish path's reads cost the same however large the archive grows: every read it
 * makes is a lookup by `_id`, and the store serves it from the `_id` index (FerretDB:
 * `filterPushdown` and SQLite's plan `SEARCH … USING INDEX`; MongoDB: no collection scan).
 * Before the keyed records, the rollback check searched `decisions` by status and tag, the
 * archive attestor `vsas` by subject, evaluation `attestations` by `_id: {$in}` and the
 * approval step `approvals` by decision: each a scan on FerretDB, which this test rejects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Archive, collectionsOf, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { archiveRevocationCheck } from '../../../src/consumers/archive-revocation.ts';
import { assertReadsByKey, filtersOf, readRecorder } from '../../helpers/explain-by-key.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, fakeDigest, makeAttestation, makeDecision } from './make-records.ts';

let archive: Archive;
const recorder = readRecorder();

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('bykey').replaceAll('-', '_'), {
    onCommand: recorder.onCommand,
  });
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

/** One whole publish as the activities drive the archive: evidence, evaluation, decision, VSA, publish. */
async function publishOnce(label: string, tag: string, decidedAt: string, approval: boolean) {
  const att = makeAttestation(label);
  const [digest] = (await archive.storeAttestations([att])).digests;
  assert.equal(digest, attestationDigest(label));
  await archive.storePolicy(fakeDigest('policy-1'), 'apiVersion: v1\n');
  await archive.getAttestations([digest!]);
  await archive.issuedVsas(fakeDigest(`dependency-of-${label}`), 100);
  await archive.lastRelease('127.0.0.1:5000/release/app', tag);
  const decision = makeDecision(label, {
    decidedAt,
    artifact: { repository: '127.0.0.1:5000/release/app', tag, digest: fakeDigest(`artifact-${label}`) },
    ...(approval ? { outcome: 'NEEDS_APPROVAL' as const } : {}),
  });
  await archive.recordDecision(decision);
  if (approval) {
    await archive.transition(decision.decisionId, 'decided', 'awaiting-approval', 'slsa-gate');
    await archive.recordApproval(decision.decisionId, {
      approver: 'lead@acme.example',
      verdict: 'approve',
      reason: 'reviewed',
      at: decidedAt,
      verified: true,
    });
    await archive.transition(decision.decisionId, 'awaiting-approval', 'approved', 'lead@acme.example');
  }
  const vsaBytes = Buffer.from(`vsa-${label}`).toString('base64');
  await archive.storeVsa({
    raw: vsaBytes,
    direction: 'issued',
    decisionId: decision.decisionId,
    subjectDigest: decision.artifact.digest,
    resourceUri: 'oci://127.0.0.1:5000/release/app',
    verifierId: 'https://slsa-gate.example/verifier',
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    at: decidedAt,
  });
  await archive.markPublished(decision.decisionId, {
    repository: '127.0.0.1:5000/release/app',
    digest: decision.artifact.digest,
    tag,
    at: decidedAt,
  });
  return decision;
}

describe('the publish path reads by key only', () => {
  test('every filter it sends is a lone _id, and the store serves each from the _id index', async () => {
    recorder.recording = true;
    await publishOnce('key-1', 'v1', '2026-03-01T10:00:00.000Z', false);
    await publishOnce('key-2', 'v1', '2026-03-02T10:00:00.000Z', true);
    recorder.recording = false;

    // Each read the sequence makes: release, attestations, VSA lists, events, approvals, decisions.
    const collections = new Set(recorder.reads.flatMap(filtersOf).map((f) => f.collection));
    for (const name of [
      'releases',
      'attestations',
      'subjectVsas',
      'decisions',
      'approvalSets',
      'approvals',
    ]) {
      assert.ok(collections.has(name), `the publish sequence read ${name}`);
    }
    await assertReadsByKey(archive, recorder.reads);
  });
});

describe('release records', () => {
  test('name the newest published decision of a tag, whatever order the publishes finish in', async () => {
    const newer = await publishOnce('rel-newer', 'v2', '2026-04-02T10:00:00.000Z', false);
    await publishOnce('rel-older', 'v2', '2026-04-01T10:00:00.000Z', false);
    const release = await archive.lastRelease('127.0.0.1:5000/release/app', 'v2');
    assert.equal(release?.decisionId, newer.decisionId);
    assert.equal(release?.digest, newer.artifact.digest);
    assert.equal(release?.sourceRef, 'refs/heads/main');
    assert.equal(release?.decidedAt, '2026-04-02T10:00:00.000Z');
  });

  test('a retried markPublished after a crash before the release record writes it', async () => {
    const decision = await publishOnce('rel-crash', 'v3', '2026-04-03T10:00:00.000Z', false);
    // The crash: the decision is published but its release record was never written.
    await collectionsOf(archive).releases.deleteOne({ _id: '127.0.0.1:5000/release/app:v3' });
    assert.equal(await archive.lastRelease('127.0.0.1:5000/release/app', 'v3'), null);
    await archive.markPublished(decision.decisionId, {
      repository: '127.0.0.1:5000/release/app',
      digest: decision.artifact.digest,
      tag: 'v3',
      at: '2026-04-03T10:00:00.000Z',
    });
    assert.equal(
      (await archive.lastRelease('127.0.0.1:5000/release/app', 'v3'))?.decisionId,
      decision.decisionId,
    );
  });

  test('an archive from before the keyed records gets them once, from its decisions, VSAs and approvals', async () => {
    const published = await publishOnce('rel-old', 'v4', '2026-04-04T10:00:00.000Z', true);
    for (const name of ['releases', 'subjectVsas', 'approvalSets', 'migrations']) {
      await databaseOf(archive).collection(name).deleteMany({});
    }
    assert.equal(await archive.lastRelease('127.0.0.1:5000/release/app', 'v4'), null);
    assert.equal((await archive.issuedVsas(published.artifact.digest, 100)).vsas.length, 0);
    await archive.backfillKeyedRecords();
    assert.equal(
      (await archive.lastRelease('127.0.0.1:5000/release/app', 'v4'))?.decisionId,
      published.decisionId,
    );
    // Newest wins over every tag, as before the records were dropped.
    assert.equal(
      (await archive.lastRelease('127.0.0.1:5000/release/app', 'v1'))?.decisionId,
      'publish-key-2/run-1',
    );
    const vsas = await archive.issuedVsas(published.artifact.digest, 100);
    assert.deepEqual(
      vsas.vsas.map((v) => v.decisionId),
      [published.decisionId],
    );
    const set = await collectionsOf(archive).approvalSets.findOne({ _id: published.decisionId });
    assert.deepEqual(set?.approvals, [`${published.decisionId}|lead@acme.example`]);
  });
});

describe('revocations', () => {
  const input = (digest: string, reason = 'left-pad 1.3.0 compromised') => ({
    subjectDigest: digest,
    reason,
    by: 'token:admin',
    verified: true,
    at: '2026-04-06T09:00:00Z',
    workflowId: `revoke:${digest}`,
    runId: 'run-1',
  });

  test('a digest is revoked by one record keyed by the digest, read back by key; the decision is never edited', async () => {
    const decision = await publishOnce('rev-1', 'v5', '2026-04-05T10:00:00.000Z', false);
    const digest = decision.artifact.digest;
    assert.equal(await archive.revocationOf(digest), null);
    const contentBefore = (await archive.getDecision(decision.decisionId))?.contentDigest;
    const first = await archive.recordRevocation(input(digest));
    assert.equal(first.recorded, true);
    recorder.reads.length = 0;
    recorder.recording = true;
    const revocation = await archive.revocationOf(digest);
    recorder.recording = false;
    assert.deepEqual(
      [revocation?._id, revocation?.reason, revocation?.by, revocation?.verified, revocation?.at],
      [digest, 'left-pad 1.3.0 compromised', 'token:admin', true, '2026-04-06T09:00:00.000Z'],
    );
    await assertReadsByKey(archive, recorder.reads);
    // Never an edit: the decision and its content digest are as they were.
    const after = await archive.getDecision(decision.decisionId);
    assert.equal(after?.status, 'published');
    assert.equal(after?.contentDigest, contentBefore);
  });

  test('the first revocation stands: a retry or a second revocation with another reason records nothing', async () => {
    const decision = await publishOnce('rev-2', 'v8', '2026-04-05T11:00:00.000Z', false);
    const digest = decision.artifact.digest;
    await archive.recordRevocation(input(digest));
    const retried = await archive.recordRevocation(input(digest));
    const other = await archive.recordRevocation({ ...input(digest, 'changed my mind'), by: 'mallory' });
    for (const again of [retried, other]) {
      assert.equal(again.recorded, false);
      assert.equal(again.revocation.reason, 'left-pad 1.3.0 compromised');
      assert.equal(again.revocation.by, 'token:admin');
    }
    assert.equal((await archive.revocationOf(digest))?.reason, 'left-pad 1.3.0 compromised');
  });
});

test("the consumers' revocation hook answers from the archive: revoked digest, reason; other digest, none", async () => {
  const revoked = await publishOnce('rev-hook', 'v6', '2026-04-07T10:00:00.000Z', false);
  const kept = await publishOnce('rev-kept', 'v7', '2026-04-07T11:00:00.000Z', false);
  await archive.recordRevocation({
    subjectDigest: revoked.artifact.digest,
    reason: 'builder key leaked',
    by: 'admin@acme.example',
    verified: false,
    at: '2026-04-08T00:00:00Z',
    workflowId: 'revoke:x',
    runId: 'run-1',
  });
  const isRevoked = archiveRevocationCheck(archive);
  const reason = await isRevoked(revoked.artifact.digest);
  assert.match(reason ?? '', /builder key leaked/);
  assert.equal(await isRevoked(kept.artifact.digest), undefined);
});

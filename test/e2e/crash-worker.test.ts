/**
 * docs/checklist.md#row-28 and docs/checklist.md#row-29: the worker process is SIGKILLed in the middle of a publish and
 * started again. The real Temporal server, registry and store are the shared ones (only the
 * worker dies); the worker is a separate OS process (test/helpers/fault-worker.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PublishProgress, PublishResult } from '../../src/workflows/contract.ts';
import {
  assertNothingPublished,
  assertRequestPublishedOnce,
  publishedResult,
} from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { stageImage, startSharedCrashRig, type CrashRig } from '../helpers/worker-process.ts';
import { runsOf } from '../helpers/workflow-history.ts';

// Not a version tag: the rollback check (docs/checklist.md#row-21) ties version tags to the provenance ref.
const RELEASE_TAG = 'stable';

let rig: CrashRig;
before(async () => {
  rig = await startSharedCrashRig();
});
after(async () => {
  await rig?.close();
});

test('worker SIGKILLed after the copy to the release repository, before publishImage returns: one publish, one decision', async () => {
  const { staging, digest } = await stageImage(rig, 'crash');
  const request = rig.request(staging, digest, { releaseTag: RELEASE_TAG });
  const release = request.releaseRepository;

  const first = await rig.startWorker({ crashAfter: 'publishImage' });
  const handle = await rig.start(request);
  const { signal } = await first.exited;
  assert.equal(signal, 'SIGKILL');
  assert.ok(first.lines.includes('fault crash-after publishImage'), 'the worker died after the copy');

  // The copy is in the release repository, but the archive does not call it published yet.
  assert.equal((await rig.registry.resolve(release, RELEASE_TAG)).digest, digest);
  const [decided] = await rig.archive.findDecisionsByDigest(digest);
  assert.equal(decided?.status, 'decided');

  const second = await rig.startWorker();
  const result = await publishedResult(handle);
  assert.equal(result.published?.digest, digest);
  assert.ok(second.lines.includes('start publishImage 2'), 'the restarted worker ran the retry');

  const publishRuns = await runsOf(handle, 'publishImage');
  assert.equal(publishRuns.length, 1, 'one publishImage activity');
  assert.equal(publishRuns[0]?.attempt, 2, 'completed on its second attempt');
  assert.equal(publishRuns[0]?.closed, 'completed');
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await second.kill('SIGTERM');
});

test('worker SIGKILLed while verifying (collectEvidence): the activity is retried after its heartbeat timeout; one decision, one publish', async () => {
  const { staging, digest } = await stageImage(rig, 'crash');
  const request = rig.request(staging, digest, { releaseTag: RELEASE_TAG });
  const release = request.releaseRepository;

  const first = await rig.startWorker({ hangAfter: 'collectEvidence' });
  const handle = await rig.start(request);
  await first.waitForLine(/^fault hang-after collectEvidence$/);
  await first.kill('SIGKILL');
  // Killed mid-verify: no decision yet, nothing published.
  assert.deepEqual(await rig.archive.findDecisionsByDigest(digest), []);
  await assertNothingPublished(rig.registry, release, digest);

  const second = await rig.startWorker();
  const result = await publishedResult(handle);
  assert.ok(second.lines.includes('start collectEvidence 2'), 'the restarted worker ran the retry');

  const evidenceRuns = await runsOf(handle, 'collectEvidence');
  assert.equal(evidenceRuns.length, 1);
  assert.equal(evidenceRuns[0]?.attempt, 2);
  assert.equal(evidenceRuns[0]?.closed, 'completed');
  assert.equal((await runsOf(handle, 'recordDecision')).length, 1);
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await second.kill('SIGTERM');
});

test('worker SIGKILLed while the publish awaits approval: a new worker replays the run, takes the approval and publishes once', async () => {
  const { staging, digest } = await stageImage(rig, 'crash');
  const request = rig.request(staging, digest, {
    releaseTag: RELEASE_TAG,
    policy: { approvalRequired: true },
  });
  const first = await rig.startWorker();
  const handle = await rig.start(request);
  await first.waitForLine(/^start transitionDecision 1$/);
  const waiting = await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'throw' });
  assert.equal(waiting?.status, 'AwaitingApproval');
  await first.kill('SIGKILL');

  const second = await rig.startWorker();
  // The new worker has no cached state: the query and the update replay the history first.
  const replayed = await handle.query<PublishProgress>('progress');
  assert.equal(replayed.status, 'AwaitingApproval');
  assert.equal(replayed.decisionId, waiting?.decisionId);
  const answer = await handle.executeUpdate<PublishProgress, [{ approver: string; reason: string }]>(
    'approve',
    { args: [{ approver: 'bob', reason: 'approved after the worker restart' }] },
  );
  assert.equal(answer.result?.status, 'PUBLISHED');
  const result = (await handle.result()) as PublishResult;
  // Approved straight through Temporal: archived as the typed, unverified name (docs/security-model.md#approvals).
  assert.equal(result.approval?.approver, 'unverified:bob');
  assert.equal(
    (await runsOf(handle, 'recordDecision')).length,
    1,
    'the decision is recorded once, before the kill',
  );
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await second.kill('SIGTERM');
});

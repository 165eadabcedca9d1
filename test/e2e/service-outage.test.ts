/**
 * Issue 4's outage cases: the registry down during publish, and the store down when the
 * decision is to be archived (docs/checklist.md#row-33). Both services are this file's own instances
 * (own ports and data), stopped and started again here; Temporal is the shared dev server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { PublishProgress } from '../../src/workflows/contract.ts';
import { ownFerretDb, ownRegistry, type OwnService } from '../helpers/own-services.ts';
import {
  assertNothingPublished,
  assertRequestPublishedOnce,
  publishedResult,
} from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { ensureServices, services } from '../helpers/services.ts';
import { stageImage, startCrashRig, type CrashRig } from '../helpers/worker-process.ts';
import { runsOf, waitForAttempt } from '../helpers/workflow-history.ts';
import { collectionsOf } from '../../src/archive/archive.ts';

// Not a version tag: the rollback check (docs/checklist.md#row-21) ties version tags to the provenance ref.
const RELEASE_TAG = 'stable';

let dir: string;
let registry: OwnService & { host: string };
let store: OwnService & { uri: string };
let rig: CrashRig;
before(async () => {
  ensureServices();
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-outage-'));
  [registry, store] = await Promise.all([ownRegistry(dir), ownFerretDb(dir)]);
  rig = await startCrashRig({
    temporalAddress: services.temporalAddress,
    namespace: services.temporalNamespace,
    mongoUri: store.uri,
    registryHost: registry.host,
  });
});
after(async () => {
  await rig?.close();
  await Promise.all([registry?.kill('SIGTERM'), store?.kill('SIGTERM')]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitForStatus(handle: WorkflowHandle, status: PublishProgress['status']) {
  const progress = await pollProgress(handle, status, { queryErrors: 'retry' });
  if (progress?.status === status) return progress;
  throw new Error(`workflow never reached ${status}`);
}

test('registry down when the publish step runs: the step retries with backoff and publishes once it is back', async () => {
  const { staging, digest } = await stageImage(rig, 'outage');
  const request = rig.request(staging, digest, {
    releaseTag: RELEASE_TAG,
    policy: { approvalRequired: true },
  });
  const worker = await rig.startWorker();
  const handle = await rig.start(request);
  // Everything read from the registry before the decision is done; the decision is archived.
  await waitForStatus(handle, 'AwaitingApproval');

  await registry.kill('SIGKILL');
  await handle.startUpdate('approve', {
    args: [{ approver: 'bob', reason: 'approved while the registry is down' }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  // Two failed attempts, with the retry policy's backoff between them (1s, then 2s).
  const failing = await waitForAttempt(handle, 'publishImage', 3);
  assert.equal(failing.lastFailureType, 'REGISTRY_UNAVAILABLE');
  const [approved] = await rig.archive.findDecisionsByDigest(digest);
  assert.equal(approved?.status, 'approved', 'not marked published while the registry is down');

  await registry.start();
  const result = await publishedResult(handle);
  const runs = await runsOf(handle, 'publishImage');
  assert.equal(runs.length, 1, 'one publishImage activity, retried');
  assert.ok((runs[0]?.attempt ?? 0) >= 3, `completed on attempt ${runs[0]?.attempt}`);
  assert.equal(runs[0]?.closed, 'completed');
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await worker.kill('SIGTERM');
});

test('store down when the decision is to be archived: nothing is published until the decision is stored', async () => {
  const { staging, digest } = await stageImage(rig, 'outage');
  const request = rig.request(staging, digest, { releaseTag: RELEASE_TAG });
  const release = request.releaseRepository;
  const worker = await rig.startWorker({ pauseBefore: 'recordDecision' });
  const handle = await rig.start(request);
  await worker.waitForLine(/^fault pause-before recordDecision$/);

  await store.kill('SIGKILL');
  writeFileSync(join(rig.dir, 'recordDecision.go'), '');
  const failing = await waitForAttempt(handle, 'recordDecision', 2);
  assert.ok(failing.lastFailureType, 'the first attempt failed');
  // While the store is down: no publish step scheduled, nothing in the release repository.
  assert.deepEqual(await runsOf(handle, 'publishImage'), []);
  await assertNothingPublished(rig.registry, release, digest);

  await store.start();
  const result = await publishedResult(handle);
  const runs = await runsOf(handle, 'recordDecision');
  assert.equal(runs.length, 1);
  assert.ok((runs[0]?.attempt ?? 0) >= 2);
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await worker.kill('SIGTERM');
});

test('store failing when the issued VSA is archived: attachVsa is retried and archives the VSA it attached', async () => {
  const { staging, digest } = await stageImage(rig, 'outage');
  const request = rig.request(staging, digest, { releaseTag: RELEASE_TAG });
  const worker = await rig.startWorker({ archiveFailOnce: 'storeVsa' });
  const handle = await rig.start(request);
  const result = await publishedResult(handle);
  assert.ok(worker.lines.includes('fault fail-once archive.storeVsa'));
  const runs = await runsOf(handle, 'attachVsa');
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.attempt, 2, 'the first attempt failed after attaching the VSA');
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  const [archived] = await collectionsOf(rig.archive).vsas.find({ decisionId: result.decisionId }).toArray();
  assert.equal(archived?.digest, result.published?.vsaDigest, 'the archived VSA is the one attached');
  await worker.kill('SIGTERM');
});

test('store replies lost after the decision, approval and published writes: the retries find their own writes (one of each)', async () => {
  const { staging, digest } = await stageImage(rig, 'outage');
  const request = rig.request(staging, digest, {
    releaseTag: RELEASE_TAG,
    policy: { approvalRequired: true },
  });
  const lossy = ['recordDecision', 'recordApproval', 'transition', 'markPublished'];
  const worker = await rig.startWorker({ archiveLoseReply: lossy });
  const handle = await rig.start(request);
  await waitForStatus(handle, 'AwaitingApproval');
  await handle.executeUpdate('approve', { args: [{ approver: 'bob', reason: 'reviewed' }] });
  const result = await publishedResult(handle);
  for (const method of lossy) {
    assert.ok(worker.lines.includes(`fault lose-reply archive.${method}`), `${method} lost a reply`);
  }
  for (const activity of ['recordDecision', 'recordApproval', 'markPublished']) {
    const runs = await runsOf(handle, activity);
    assert.equal(runs.length, 1, activity);
    assert.equal(runs[0]?.attempt, 2, `${activity} succeeded on its retry`);
  }
  assert.deepEqual(
    (await rig.archive.listApprovals(result.decisionId)).map((a) => [a.approver, a.verdict]),
    [['unverified:bob', 'approve']],
  );
  assert.equal(await collectionsOf(rig.archive).events.countDocuments({ decisionId: result.decisionId }), 4);
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await worker.kill('SIGTERM');
});

/**
 * docs/checklist.md#row-30: the Temporal dev server is killed with SIGKILL while a publish waits for
 * approval, or while its publish step runs, and restarted on the same `--db-filename`; the
 * workflow resumes and completes.
 * The server is this test's own instance (own port, own db file); registry and store are the
 * shared ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { PublishProgress } from '../../src/workflows/contract.ts';
import { OWN_NAMESPACE, ownTemporal, type OwnService } from '../helpers/own-services.ts';
import {
  assertNothingPublished,
  assertRequestPublishedOnce,
  listTags,
  publishedResult,
} from '../helpers/publish-checks.ts';
import { ensureServices, services } from '../helpers/services.ts';
import { stageImage, startCrashRig, type CrashRig } from '../helpers/worker-process.ts';
import { runsOf } from '../helpers/workflow-history.ts';

// Not a version tag: the rollback check (docs/checklist.md#row-21) ties version tags to the provenance ref.
const RELEASE_TAG = 'stable';

let dir: string;
let temporal: OwnService & { address: string };
let rig: CrashRig;
before(async () => {
  ensureServices();
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-own-temporal-'));
  temporal = await ownTemporal(dir);
  rig = await startCrashRig({
    temporalAddress: temporal.address,
    namespace: OWN_NAMESPACE,
    mongoUri: services.mongoUri,
    registryHost: new URL(services.registryUrl).host,
  });
});
after(async () => {
  await rig?.close();
  await temporal?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitForStatus(handle: WorkflowHandle, status: string, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const progress = await handle.query<PublishProgress>('progress');
      if (progress.status === status) return progress;
      last = progress.status;
    } catch (err) {
      last = err; // the server may still be starting, or the first task not yet run
    }
    await sleep(250);
  }
  throw new Error(`workflow never reached ${status}; last: ${String(last)}`);
}

test('dev server SIGKILLed while a publish awaits approval, restarted on the same db file: the workflow resumes and publishes', async (t) => {
  const { staging, digest } = await stageImage(rig, 'server-crash');
  const request = rig.request(staging, digest, {
    releaseTag: RELEASE_TAG,
    policy: { approvalRequired: true },
  });
  let worker = await rig.startWorker();
  const handle = await rig.start(request);
  await waitForStatus(handle, 'AwaitingApproval');
  const [decided] = await rig.archive.findDecisionsByDigest(digest);
  assert.equal(decided?.status, 'awaiting-approval');

  await temporal.kill('SIGKILL');
  await temporal.start();
  // The worker reconnects by itself; should it have given up while the server was gone, a
  // new one takes over (the workflow state lives in the server's db, not in the worker).
  if ((await Promise.race([worker.exited, sleep(500, 'alive')])) !== 'alive') {
    t.diagnostic('the worker exited while the server was down; started a new one');
    worker = await rig.startWorker();
  } else {
    t.diagnostic('the worker outlived the server restart');
  }

  const resumed = await waitForStatus(handle, 'AwaitingApproval');
  assert.equal(resumed.outcome, 'NEEDS_APPROVAL');
  await assertNothingPublished(rig.registry, request.releaseRepository, digest);

  const answer = await handle.executeUpdate<PublishProgress, [{ approver: string; reason: string }]>(
    'approve',
    {
      args: [{ approver: 'bob', reason: 'reviewed after the server restart' }],
    },
  );
  assert.equal(answer.result?.status, 'PUBLISHED');
  const result = await publishedResult(handle);
  // Approved straight through Temporal: archived as the typed, unverified name (docs/security-model.md#approvals).
  assert.equal(result.approval?.approver, 'unverified:bob');
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await worker.kill('SIGTERM');
});

test('dev server SIGKILLed while the publish step runs, restarted on the same db file: the step completes once', async (t) => {
  const { staging, digest } = await stageImage(rig, 'server-crash');
  const request = rig.request(staging, digest, { releaseTag: RELEASE_TAG });
  const worker = await rig.startWorker({ pauseBefore: 'publishImage' });
  const handle = await rig.start(request);
  await worker.waitForLine(/^fault pause-before publishImage$/);

  await temporal.kill('SIGKILL');
  // The copy runs while the server is gone: its heartbeats and its result cannot be reported.
  writeFileSync(join(rig.dir, 'publishImage.go'), '');
  let copied = false;
  for (let i = 0; i < 120 && !copied; i++) {
    copied = (await listTags(rig.registryHost, request.releaseRepository)).includes(RELEASE_TAG);
    if (!copied) await sleep(250);
  }
  assert.ok(copied, 'the copy finished while the server was down');
  await temporal.start();

  const result = await publishedResult(handle);
  const runs = await runsOf(handle, 'publishImage');
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.closed, 'completed');
  t.diagnostic(`publishImage completed on attempt ${runs[0]?.attempt}`);
  await assertRequestPublishedOnce(rig, request, RELEASE_TAG, result.decisionId);
  await worker.kill('SIGTERM');
});

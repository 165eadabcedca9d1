/**
 * docs/checklist.md#row-32: a coded, non-retryable failure raised inside an activity closes the
 * workflow as denied with that code, after one attempt; the denial is archived. Shared
 * services; the worker is a separate process as in the crash tests.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { MAX_SIGNATURES } from '../../src/core/formats/sigstore/bundle-v1.ts';
import type { PublishRequest, PublishResult } from '../../src/workflows/contract.ts';
import { assertNothingPublished } from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import {
  stageImage,
  startSharedCrashRig,
  type CrashRig,
  type WorkerProcess,
} from '../helpers/worker-process.ts';
import { activityRuns, runsOf } from '../helpers/workflow-history.ts';

let rig: CrashRig;
let worker: WorkerProcess;
before(async () => {
  rig = await startSharedCrashRig();
  worker = await rig.startWorker();
});
after(async () => {
  await worker?.kill('SIGTERM');
  await rig?.close();
});

/** Runs the publish to its end and checks the denial: code, one attempt, archived, nothing published. */
async function assertDeniedOnce(request: PublishRequest, activity: string, code: string) {
  const handle: WorkflowHandle = await rig.start(request);
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, code);
  const described = await handle.describe();
  assert.equal(described.status.name, 'COMPLETED', 'closed, not failed or looping');
  // The Temporal UI lists a denial as COMPLETED like a publish; its memo says how it ended.
  assert.deepEqual(described.memo, { outcome: 'Denied', code });

  const runs = await activityRuns(handle);
  const failed = runs.filter((r) => r.name === activity);
  assert.equal(failed.length, 1, `${activity} scheduled once`);
  assert.equal(failed[0]?.attempt, 1, `${activity} attempted once`);
  assert.equal(failed[0]?.closed, 'failed');
  assert.equal(failed[0]?.failureType, code);
  assert.ok(
    runs.every((r) => r.attempt === 1),
    `no activity retried: ${JSON.stringify(runs)}`,
  );
  assert.ok(!runs.some((r) => r.name === 'publishImage'), 'the publish step never ran');

  const decisions = await rig.archive.findDecisionsByDigest(request.candidate.digest);
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0]?._id, result.decisionId);
  assert.equal(decisions[0]?.status, 'denied');
  assert.equal(decisions[0]?.outcome, 'FAILED');
  assert.ok(decisions[0]?.checks.some((c) => c.result === 'FAIL' && c.code === code));
  await assertNothingPublished(rig.registry, request.releaseRepository, request.candidate.digest);
}

test('a candidate whose manifest was deleted from staging is denied after one pinCandidate attempt', async () => {
  const { staging, digest } = await stageImage(rig, 'deny');
  const res = await fetch(`http://${rig.registryHost}/v2/${staging}/manifests/${digest}`, {
    method: 'DELETE',
  });
  assert.equal(res.status, 202);
  await assertDeniedOnce(rig.request(staging, digest), 'pinCandidate', 'REGISTRY_ERROR');
});

test('an attestation over the signature limit is LIMIT_EXCEEDED after one collectEvidence attempt', async () => {
  const { staging, digest, envelope } = await stageImage(rig, 'deny');
  const dsse = JSON.parse(Buffer.from(envelope).toString('utf8')) as { signatures: unknown[] };
  const [signature] = dsse.signatures;
  dsse.signatures = Array.from({ length: MAX_SIGNATURES + 1 }, () => signature);
  const request = {
    ...rig.request(staging, digest),
    attestations: [
      { origin: 'inline:too-many-signatures', raw: Buffer.from(JSON.stringify(dsse)).toString('base64') },
    ],
  };
  await assertDeniedOnce(request, 'collectEvidence', 'LIMIT_EXCEEDED');
});

test('an archive conflict (the decision closed behind the workflow) ends the publish after one attempt instead of retrying forever', async () => {
  const { staging, digest } = await stageImage(rig, 'deny');
  const request = rig.request(staging, digest, { policy: { approvalRequired: true } });
  const handle = await rig.start(request);
  const waiting = await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' });
  const decisionId = waiting?.status === 'AwaitingApproval' ? waiting.decisionId : undefined;
  assert.ok(decisionId, 'the publish waits for approval');
  // Another actor closes the decision in the archive (e.g. an operator expiring it by hand).
  await rig.archive.transition(decisionId, 'awaiting-approval', 'expired', 'operator');
  await handle.startUpdate('approve', {
    args: [{ approver: 'bob', reason: 'approved after the archive closed it' }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });

  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, 'ARCHIVE_ERROR');
  const runs = await runsOf(handle, 'recordApproval');
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.attempt, 1, 'the conflict is not retried');
  assert.equal(runs[0]?.failureType, 'ARCHIVE_ERROR');
  assert.ok(!(await activityRuns(handle)).some((r) => r.name === 'publishImage'));
  assert.equal((await rig.archive.getDecision(decisionId))?.status, 'expired', 'the archive stays closed');
  await assertNothingPublished(rig.registry, request.releaseRepository, digest);
});

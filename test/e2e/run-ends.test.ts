/**
 * Every end archived (docs/security-model.md#how-a-run-ends): a publish run terminated or
 * timed out in Temporal runs no workflow code, so the reaper (a workflow on a Temporal
 * Schedule) archives its end from the run's history. Real Temporal dev server, the publish
 * worker as its own process (test/helpers/fault-worker.ts, holding evaluatePolicy so that a
 * run can be terminated during evaluation), the real registry and store.
 *
 * Failing before: a run terminated while awaiting approval left its decision
 * `awaiting-approval` for ever, and a run terminated during evaluation left no decision at
 * all; nothing in the archive said that it ended, who ended it or when.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { databaseOf } from '../../src/archive/archive.ts';
import { listDecisions, showDecision } from '../../src/archive/queries.ts';
import { installReaperSchedule } from '../../src/consumers/reaper-schedule.ts';
import type { PublishProgress } from '../../src/workflows/contract.ts';
import type { ReapRunEndsResult } from '../../src/workflows/reap-run-ends.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { services, uniqueName } from '../helpers/services.ts';
import {
  stageImage,
  startSharedCrashRig,
  type CrashRig,
  type WorkerProcess,
} from '../helpers/worker-process.ts';

let rig: CrashRig;
let worker: WorkerProcess;
/** A Temporal client that names itself as an operator would (`temporal workflow terminate --identity`). */
let operator: Client;
const scheduleId = uniqueName('reaper');

before(async () => {
  rig = await startSharedCrashRig();
  worker = await rig.startWorker({ pauseBefore: 'evaluatePolicy' });
  operator = new Client({
    connection: rig.client.connection,
    namespace: rig.client.options.namespace,
    identity: 'ops-alice@bastion',
  });
});
after(async () => {
  await rig?.client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await rig?.close();
});

/** Waits until visibility lists the run as closed with `status` (visibility is eventually consistent). */
async function waitUntilListed(handle: WorkflowHandle, runId: string, status: 'Terminated' | 'TimedOut') {
  const query = `WorkflowId = '${handle.workflowId}' AND RunId = '${runId}' AND ExecutionStatus = '${status}'`;
  for (let i = 0; i < 600; i++) {
    const listed = await rig.client.workflow.list({ query })[Symbol.asyncIterator]().next();
    if (!listed.done) return;
    await sleep(200);
  }
  throw new Error(`visibility never listed ${handle.workflowId}/${runId} as ${status}`);
}

async function reapOnce(): Promise<ReapRunEndsResult> {
  return (await rig.client.workflow.execute('reapRunEnds', {
    taskQueue: rig.taskQueue,
    workflowId: uniqueName('reap'),
    args: [{}],
  })) as ReapRunEndsResult;
}

/** `slsa-gate audit <args>` on the rig's archive, as an auditor runs it. */
function auditCli(...args: string[]) {
  return spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'audit',
      ...args,
      '--mongodb-uri',
      services.mongoUri,
      '--db',
      databaseOf(rig.archive).databaseName,
    ],
    { encoding: 'utf8' },
  );
}

async function eventsOf(decisionId: string) {
  const detail = await showDecision(rig.archive, decisionId);
  return detail?.events.map((e) => ({ from: e.from, to: e.to, by: e.by, at: e.at, data: e.data })) ?? [];
}

test('runs terminated during evaluation and while awaiting approval get an archived end with who and when; reaping again archives nothing new', async () => {
  // Run 1: held at evaluatePolicy, then terminated by the operator's client.
  const evaluating = await stageImage(rig, 'reap-eval');
  const held = await rig.start(rig.request(evaluating.staging, evaluating.digest));
  const heldRunId = (await held.describe()).runId;
  await worker.waitForLine(/^fault pause-before evaluatePolicy$/, 180_000);
  assert.equal((await held.query<PublishProgress>('progress')).status, 'Evaluating');
  await operator.workflow.getHandle(held.workflowId, heldRunId).terminate('stuck evaluation, stopped by ops');
  // Let the held activity go (its result is dropped: the run is closed), and the next runs evaluate.
  writeFileSync(join(rig.dir, 'evaluatePolicy.go'), '');

  // Run 2: waits for approval, then terminated.
  const waiting = await stageImage(rig, 'reap-wait');
  const awaiting = await rig.start(
    rig.request(waiting.staging, waiting.digest, { policy: { approvalRequired: true } }),
  );
  const awaitingRunId = (await awaiting.describe()).runId;
  assert.equal(
    (await pollProgress(awaiting, 'AwaitingApproval', { queryErrors: 'retry' }))?.status,
    'AwaitingApproval',
  );
  await operator.workflow.getHandle(awaiting.workflowId, awaitingRunId).terminate('release cancelled');

  const heldId = `${held.workflowId}/${heldRunId}`;
  const awaitingId = `${awaiting.workflowId}/${awaitingRunId}`;
  // What a termination leaves on its own: no decision, and a decision still awaiting approval.
  assert.equal(await rig.archive.getDecision(heldId), null);
  assert.equal((await rig.archive.getDecision(awaitingId))?.status, 'awaiting-approval');

  await waitUntilListed(held, heldRunId, 'Terminated');
  await waitUntilListed(awaiting, awaitingRunId, 'Terminated');
  const first = await reapOnce();
  assert.deepEqual(
    first.archived.map((r) => `${r.workflowId}/${r.runId} ${r.status}`).sort(),
    [`${heldId} terminated`, `${awaitingId} terminated`].sort(),
  );
  assert.deepEqual(first.failed, []);

  // Run 1 had no decision: it gets a FAILED one with code TERMINATED, decided when it was terminated.
  const heldClosedAt = (await held.describe()).closeTime?.toISOString();
  const heldDecision = await rig.archive.getDecision(heldId);
  assert.equal(heldDecision?.status, 'terminated');
  assert.equal(heldDecision?.outcome, 'FAILED');
  assert.deepEqual(heldDecision?.failingCodes, ['TERMINATED']);
  assert.equal(heldDecision?.artifact.digest, evaluating.digest);
  assert.equal(new Date(heldDecision?.statusAt ?? 0).toISOString(), heldClosedAt);
  assert.deepEqual(
    (await eventsOf(heldId)).map(({ from, to, by }) => `${from} → ${to} by ${by}`),
    ['null → decided by alice', 'decided → terminated by temporal:ops-alice@bastion'],
  );
  const heldEnd = (await eventsOf(heldId)).find((e) => e.to === 'terminated');
  assert.equal(new Date(heldEnd?.at ?? 0).toISOString(), heldClosedAt);
  assert.deepEqual(JSON.parse(heldEnd?.data ?? '{}'), {
    identity: 'ops-alice@bastion',
    reason: 'stuck evaluation, stopped by ops',
  });

  // Run 2's open decision moves from awaiting-approval to terminated, at the time of the termination.
  const awaitingClosedAt = (await awaiting.describe()).closeTime?.toISOString();
  const awaitingDecision = await rig.archive.getDecision(awaitingId);
  assert.equal(awaitingDecision?.status, 'terminated');
  assert.equal(awaitingDecision?.outcome, 'NEEDS_APPROVAL');
  assert.equal(new Date(awaitingDecision?.statusAt ?? 0).toISOString(), awaitingClosedAt);
  const awaitingEnd = (await eventsOf(awaitingId)).find((e) => e.to === 'terminated');
  assert.equal(awaitingEnd?.from, 'awaiting-approval');
  assert.equal(awaitingEnd?.by, 'temporal:ops-alice@bastion');
  assert.equal(new Date(awaitingEnd?.at ?? 0).toISOString(), awaitingClosedAt);
  assert.equal(JSON.parse(awaitingEnd?.data ?? '{}').reason, 'release cancelled');

  // Both are in the auditors' list under their end, and `audit show` says who ended it and why.
  const listed = await listDecisions(rig.archive, { status: 'terminated' }, { limit: 100 });
  assert.deepEqual(listed.items.map((d) => d._id).sort(), [heldId, awaitingId].sort());
  const shown = auditCli('show', awaitingId);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /Outcome {4}NEEDS_APPROVAL \(status terminated since /);
  assert.match(
    shown.stdout,
    /awaiting-approval → terminated {2}by temporal:ops-alice@bastion: "release cancelled"/,
  );

  // Reaping again, through the installed schedule this time, archives nothing new.
  const eventsBefore = [await eventsOf(heldId), await eventsOf(awaitingId)];
  const installed = await installReaperSchedule(rig.client, {
    taskQueue: rig.taskQueue,
    every: '1h',
    scheduleId,
  });
  assert.equal(installed.created, true);
  const schedule = rig.client.schedule.getHandle(scheduleId);
  await schedule.trigger();
  let scheduledId: string | undefined;
  for (let i = 0; i < 300 && scheduledId === undefined; i++) {
    scheduledId = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (scheduledId === undefined) await sleep(200);
  }
  assert.ok(scheduledId, 'the schedule started a reaper run');
  const second = (await rig.client.workflow.getHandle(scheduledId).result()) as ReapRunEndsResult;
  assert.ok(second.scanned >= 2, 'the scheduled run saw both terminated runs');
  assert.deepEqual(second.archived, []);
  assert.deepEqual(second.failed, []);
  assert.deepEqual([await eventsOf(heldId), await eventsOf(awaitingId)], eventsBefore);
});

test('a run that reaches its Temporal execution timeout gets an archived end timed-out', async () => {
  const { staging, digest } = await stageImage(rig, 'reap-timeout');
  const request = rig.request(staging, digest, { policy: { approvalRequired: true } });
  // rig.start loads the operator's policy for this image and starts the run; that run is
  // terminated at once, and the same request starts again under its own id with a short
  // execution timeout: it waits for an approval that never comes, and Temporal closes it as TIMED_OUT.
  const started = await rig.start(request);
  await started.terminate('replaced by the run with a timeout');
  const handle = await rig.client.workflow.start('publishArtifact', {
    taskQueue: rig.taskQueue,
    workflowId: `${started.workflowId}#timeout`,
    args: [request],
    workflowExecutionTimeout: '5s',
  });
  const runId = handle.firstExecutionRunId;
  await assert.rejects(handle.result());
  assert.equal((await handle.describe()).status.name, 'TIMED_OUT');
  await waitUntilListed(handle, runId, 'TimedOut');

  const reaped = await reapOnce();
  const decisionId = `${handle.workflowId}/${runId}`;
  assert.ok(
    reaped.archived.some((r) => `${r.workflowId}/${r.runId}` === decisionId && r.status === 'timed-out'),
    JSON.stringify(reaped),
  );
  const decision = await rig.archive.getDecision(decisionId);
  assert.equal(decision?.status, 'timed-out');
  const end = (await eventsOf(decisionId)).find((e) => e.to === 'timed-out');
  assert.equal(end?.by, 'temporal (execution timeout)');
  assert.equal(new Date(end?.at ?? 0).toISOString(), (await handle.describe()).closeTime?.toISOString());
});

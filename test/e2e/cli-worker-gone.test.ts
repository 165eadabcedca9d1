/**
 * `slsa-gate status` and `approve` when the worker is slow or gone: every answer comes within
 * a bound, with a code, instead of a silent wait. Status needs no worker: a finished run's is
 * read from its result in Temporal's history, a running one's from its description and the archive. Real Temporal dev server, registry and
 * FerretDB; the worker is its own OS process (fault-worker.ts), held before publishImage and
 * then SIGKILLed, as a worker that hangs or dies would be.
 *
 * Material: images made and signed by the demo builder; the rule asks for an approval, which
 * the CLI sends straight to Temporal (the worker allows unverified approvals, as the crash
 * tests' worker does).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { databaseOf } from '../../src/archive/archive.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { PublishResult } from '../../src/workflows/contract.ts';
import { hasStackTrace, runCli, type CliRun } from '../helpers/cli-process.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { services } from '../helpers/services.ts';
import {
  stageImage,
  startSharedCrashRig,
  type CrashRig,
  type WorkerProcess,
} from '../helpers/worker-process.ts';

const env = {
  TEMPORAL_ADDRESS: services.temporalAddress,
  TEMPORAL_NAMESPACE: services.temporalNamespace,
  MONGODB_URI: services.mongoUri,
};

let rig: CrashRig;
let worker: WorkerProcess;
before(async () => {
  rig = await startSharedCrashRig();
  worker = await rig.startWorker({ pauseBefore: 'publishImage' });
});
after(async () => {
  await rig?.close();
});

async function awaitingApproval(prefix: string): Promise<WorkflowHandle> {
  const { staging, digest } = await stageImage(rig, prefix);
  const handle = await rig.start(rig.request(staging, digest, { policy: { approvalRequired: true } }));
  const waiting = await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' });
  assert.equal(waiting?.status, 'AwaitingApproval');
  return handle;
}

function assertAnswered(run: CliRun, exit: number): void {
  const shown = `${run.stdout}${run.stderr}`;
  assert.notEqual(run.exit, null, `the command answered (it was killed waiting): ${shown}`);
  assert.equal(run.exit, exit, shown);
  assert.equal(hasStackTrace(run), false, shown);
}

test('approve waits for the worker within --timeout; status needs no worker; with the worker gone approve answers TEMPORAL_UNAVAILABLE', async () => {
  const first = await awaitingApproval('gone');
  // The worker takes the approval, then holds before the copy to the release repository.
  const accepted = await runCli(
    ['approve', first.workflowId, '--reason', 'reviewed', '--approver', 'bob', '--timeout', '20'],
    { env },
  );
  // Before: --timeout did not exist (INPUT_INVALID), and approve waited for the publish to end.
  assertAnswered(accepted, EXIT.PENDING);
  assert.match(accepted.stdout, /approve accepted by .*not finished within 20 s/);
  writeFileSync(join(rig.dir, 'publishImage.go'), '');
  const result = (await first.result()) as PublishResult;
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  // The verdict the CLI sent is the one taken (recorded as an unverified name: it came past the API).
  assert.match(result.approval?.approver ?? '', /\bbob$/);

  const second = await awaitingApproval('gone');
  await worker.kill('SIGKILL');

  // A finished run: its result is in the history; no worker has to replay it for a query.
  const finished = await runCli(['status', first.workflowId, '--json'], { env });
  // Before: the query waited for a worker, then failed uncoded ("Failed to query Workflow").
  assertAnswered(finished, EXIT.PUBLISHED);
  const shown = JSON.parse(finished.stdout) as { status: string; result: PublishResult };
  assert.equal(shown.status, 'Published');
  assert.equal(shown.result.decisionId, result.decisionId);

  // A running run: where it is comes from its description, memo and the archived decision, not
  // from a worker (docs/security-model.md#waiting-for-a-publish). Before: TEMPORAL_UNAVAILABLE,
  // since only the worker answered the progress query.
  const running = await runCli(['status', second.workflowId, '--timeout', '5'], {
    env: { ...env, SLSA_GATE_DB: databaseOf(rig.archive).databaseName },
  });
  assertAnswered(running, EXIT.PENDING);
  assert.match(running.stdout, /^status: AwaitingApproval \(policy outcome NEEDS_APPROVAL\)$/m);
  assert.match(running.stdout, /^awaiting approval \(0 of 1\) until \d{4}-/m);

  // The dead worker is still listed as polling for a while: the verdict is sent, and nobody takes it.
  const approve = await runCli(['approve', second.workflowId, '--reason', 'reviewed', '--approver', 'bob'], {
    env,
  });
  // Before: nothing printed, and no answer until the process was killed.
  assertAnswered(approve, EXIT.UNAVAILABLE);
  assert.match(approve.stderr, /^slsa-gate: TEMPORAL_UNAVAILABLE: no worker took the approve within 30 s/m);
  assert.match(approve.stderr, /slsa-gate status/);
  await second.terminate('test over');
});

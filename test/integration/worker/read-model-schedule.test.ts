/**
 * A worker configured with SLSA_GATE_READ_MODEL creates the read model's export schedule when
 * it starts (docs/audit.md#keeping-it-fresh), on the real Temporal dev server with the worker
 * entry point as a process: the first worker creates it, a second one finds it and keeps it as
 * an operator changed it (no second schedule, no interval reset).
 *
 * Failing before: a worker never created the schedule, so on a fresh install nothing kept the
 * read model fresh until someone ran `audit export --schedule`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { readModelScheduleId } from '../../../src/consumers/read-model-schedule.ts';
import { ensureDevSigningKey } from '../../../src/signing/signing-key.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const work = mkdtempSync(join(tmpdir(), 'slsa-gate-read-model-schedule-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Starts the worker entry point and returns its stderr up to the line about the export
 * schedule (or, without one, up to the line saying it polls its task queue), then stops it.
 */
async function startWorkerUntilScheduled(env: Record<string, string>): Promise<string> {
  const entry = fileURLToPath(new URL('../../../src/workers/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/read model export schedule|slsa-gate worker: task queue/.test(stderr)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${stderr}`)));
    });
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
  return stderr;
}

test('a worker with SLSA_GATE_READ_MODEL creates the export schedule; a second keeps it as the operator left it', async () => {
  ensureServices();
  const taskQueue = uniqueName('read-model-schedule');
  const env = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: uniqueName('read_model_schedule').replaceAll('-', '_'),
    SLSA_GATE_TASK_QUEUE: taskQueue,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(work, 'vsa.pem')),
    SLSA_GATE_READ_MODEL: join(work, 'read-model'),
  };
  const connection = await Connection.connect({ address: services.temporalAddress });
  const client = new Client({ connection, namespace: services.temporalNamespace });
  const handle = client.schedule.getHandle(readModelScheduleId(taskQueue));
  try {
    const first = await startWorkerUntilScheduled(env);
    const created = await handle.describe().catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) assert.fail(`the worker created no schedule: ${first}`);
      throw err;
    });
    assert.match(first, /read model export schedule slsa-gate-export-read-model:\S+ created \(every 5s\)/);
    assert.equal(created.action.type, 'startWorkflow');
    assert.equal(created.action.workflowType, 'exportReadModel');
    assert.equal(created.action.taskQueue, taskQueue);
    assert.deepEqual(created.action.args, [], 'the schedule gives the export no input');
    assert.equal(created.spec.intervals?.[0]?.every, 5000);

    // The operator slows it down (what `audit export --schedule --every 1m` does).
    await handle.update((previous) => ({ ...previous, spec: { intervals: [{ every: '1m' }] } }));

    const second = await startWorkerUntilScheduled(env);
    assert.match(second, /read model export schedule \S+ already there, kept as it is/);
    const kept = await handle.describe();
    assert.equal(kept.spec.intervals?.[0]?.every, 60_000, "the operator's interval stands");
    assert.equal(kept.action.type === 'startWorkflow' && kept.action.workflowType, 'exportReadModel');
  } finally {
    await handle.delete().catch(() => {});
    await connection.close();
  }
});

test('a worker without SLSA_GATE_READ_MODEL creates no export schedule', async () => {
  ensureServices();
  const taskQueue = uniqueName('no-read-model-schedule');
  const stderr = await startWorkerUntilScheduled({
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: uniqueName('no_read_model_schedule').replaceAll('-', '_'),
    SLSA_GATE_TASK_QUEUE: taskQueue,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(work, 'vsa.pem')),
  });
  assert.doesNotMatch(stderr, /read model export schedule/);
  const connection = await Connection.connect({ address: services.temporalAddress });
  try {
    const client = new Client({ connection, namespace: services.temporalNamespace });
    await assert.rejects(
      client.schedule.getHandle(readModelScheduleId(taskQueue)).describe(),
      ScheduleNotFoundError,
    );
  } finally {
    await connection.close();
  }
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { createSmokeActivities } from './smoke-activities.ts';

before(ensureServices);

test('a trivial workflow runs through the real Temporal server and a real Worker', async () => {
  const taskQueue = uniqueName('smoke');
  const workflowId = uniqueName('smoke-wf');
  const nativeConnection = await NativeConnection.connect({ address: services.temporalAddress });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: services.temporalNamespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./smoke-workflows.ts', import.meta.url)),
    activities: createSmokeActivities('hello'),
  });
  const connection = await Connection.connect({ address: services.temporalAddress });
  try {
    const client = new Client({ connection, namespace: services.temporalNamespace });
    const result = await worker.runUntil(
      client.workflow.execute('smokeWorkflow', { taskQueue, workflowId, args: ['slsa-gate'] }),
    );
    assert.equal(result, 'hello, slsa-gate via workflow');

    const listed = execFileSync(
      services.temporalCli,
      [
        'workflow',
        'list',
        '--address',
        services.temporalAddress,
        '-n',
        services.temporalNamespace,
        '--query',
        `WorkflowId = '${workflowId}'`,
        '-o',
        'json',
      ],
      { encoding: 'utf8' },
    );
    const rows = JSON.parse(listed) as Array<{ execution: { workflowId: string }; status: string }>;
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.execution.workflowId, workflowId);
    assert.match(String(rows[0]?.status), /COMPLETED/);
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
});

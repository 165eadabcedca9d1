/**
 * `slsa-gate monitor install` on a Temporal namespace: the drift monitor's runs upsert the
 * DriftFindings and DriftKinds search attributes, and a run in a namespace without them fails
 * its workflow task over and over, never ends and, under the schedule's default overlap
 * policy, makes every later run be skipped: the monitor is blind with nothing failed to show.
 * Installing the schedule there is refused with CONFIG_INVALID naming the missing attributes
 * and the command that registers them; a namespace that has them (scripts/services.sh
 * registers them) installs as before.
 *
 * Failing before: the schedule was installed in a namespace without the attributes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { isGateError } from '../../../src/core/errors.ts';
import { installMonitorSchedule } from '../../../src/consumers/monitor-schedule.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

let connection: Connection;
// A namespace made for this test (as an operator's own cluster has one before they register
// anything): it has none of the gate's custom search attributes.
const bare = uniqueName('bare-ns');
const scheduleId = uniqueName('monitor-sa');

before(async () => {
  ensureServices();
  connection = await Connection.connect({ address: services.temporalAddress });
  await connection.workflowService.registerNamespace({
    namespace: bare,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
});
after(async () => {
  for (const namespace of [bare, services.temporalNamespace])
    await new Client({ connection, namespace }).schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
  await connection?.close();
});

const install = (namespace: string) =>
  installMonitorSchedule(new Client({ connection, namespace }), {
    scheduleId,
    taskQueue: uniqueName('tq'),
    every: '1h',
    input: { repositories: ['127.0.0.1:5000/release/never-read'] },
  });

test('a namespace without the drift search attributes is refused before any schedule exists', async () => {
  // A namespace is served a moment after it is registered; until then it is "not found".
  let refused: unknown;
  for (let i = 0; i < 100; i++) {
    refused = await install(bare).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(refused instanceof Error) || !/not found/i.test(refused.message)) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  assert.ok(isGateError(refused), `expected a coded refusal, got ${String(refused)}`);
  assert.equal(refused.code, 'CONFIG_INVALID');
  assert.match(refused.message, /DriftFindings \(Int\), DriftKinds \(KeywordList\)/);
  assert.match(refused.message, /temporal operator search-attribute create --namespace /);
  const listed = await new Client({ connection, namespace: bare }).schedule
    .getHandle(scheduleId)
    .describe()
    .then(
      () => true,
      () => false,
    );
  assert.equal(listed, false, 'no schedule was created');
});

test('the namespace scripts/services.sh sets up has them: the schedule installs', async () => {
  const installed = await install(services.temporalNamespace);
  assert.deepEqual(installed, { scheduleId, created: true });
});

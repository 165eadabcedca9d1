/**
 * A publish worker run as its own OS process by crash tests (see worker-process.ts). It is
 * wired like the test harness (configuration from the environment, the demo builder's key
 * trusted through SLSA_GATE_TEST_BUILDER_KEY_ID) and has fault hooks, each acting on the
 * first attempt of the named activity only:
 *
 * - SLSA_GATE_TEST_CRASH_AFTER=<activity>: the activity's work is done (e.g. the copy to the
 *   release repository), then the process SIGKILLs itself before the result reaches Temporal.
 * - SLSA_GATE_TEST_HANG_AFTER=<activity>: the work is done, then the activity never returns
 *   (the test kills the process while the activity is running).
 * - SLSA_GATE_TEST_PAUSE_BEFORE=<activity>: the activity waits until the file
 *   `<SLSA_GATE_TEST_GATE_DIR>/<activity>.go` exists, then runs.
 * - SLSA_GATE_TEST_ARCHIVE_FAIL_ONCE=<Archive method>: the first call of that archive write
 *   fails as the store being unreachable would (a retryable driver error), for a step
 *   inside an activity that no activity boundary separates from the one before it.
 * - SLSA_GATE_TEST_ARCHIVE_LOSE_REPLY=<Archive method>[,...]: the first call of each is
 *   carried out, then fails as a connection lost before the reply would: the retry finds
 *   its own write (E11000 on the deterministic _id, or the status already moved).
 *
 * It reports on stdout, one line each: `ready`, `start <activity> <attempt>`, and
 * `fault <hook> <activity>` when a hook fires.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { MongoNetworkError } from 'mongodb';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import { demoTrustMap } from '../../src/demo/demo-builder.ts';
import { createActivityDeps } from '../../src/workers/activity-deps.ts';
import { publishStepSinks } from '../../src/workers/publish-step-sinks.ts';
import { loadConfig } from '../../src/config/config.ts';

const env = process.env;
const crashAfter = env.SLSA_GATE_TEST_CRASH_AFTER;
const hangAfter = env.SLSA_GATE_TEST_HANG_AFTER;
const pauseBefore = env.SLSA_GATE_TEST_PAUSE_BEFORE;
const gateDir = env.SLSA_GATE_TEST_GATE_DIR ?? '.';
const archiveFailOnce = env.SLSA_GATE_TEST_ARCHIVE_FAIL_ONCE;

const say = (line: string) => process.stdout.write(`${line}\n`);

type ActivityFn = (...args: never[]) => Promise<unknown>;

function withFaults<T extends Record<string, ActivityFn>>(activities: T): T {
  const wrapped: Record<string, ActivityFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const { attempt } = Context.current().info;
      say(`start ${name} ${attempt}`);
      const first = attempt === 1;
      if (first && pauseBefore === name) {
        say(`fault pause-before ${name}`);
        while (!existsSync(join(gateDir, `${name}.go`))) await sleep(100);
      }
      const result = await fn(...args);
      if (first && crashAfter === name) {
        say(`fault crash-after ${name}`);
        process.kill(process.pid, 'SIGKILL');
      }
      if (first && hangAfter === name) {
        say(`fault hang-after ${name}`);
        await new Promise(() => {});
      }
      return result;
    };
  }
  return wrapped as T;
}

Runtime.install({ logger: new DefaultLogger('ERROR') });
const config = loadConfig(env);
const deps = await createActivityDeps(config, {
  trustMap: demoTrustMap(env.SLSA_GATE_TEST_BUILDER_KEY_ID),
});
/** Replaces an archive method by one whose first call fails, before or after doing its work. */
function failArchiveOnce(method: string, when: 'before' | 'after') {
  const archive = deps.archive as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const real = archive[method];
  if (typeof real !== 'function') throw new Error(`no archive method ${method}`);
  let failed = false;
  archive[method] = async (...args: unknown[]) => {
    if (failed) return real.apply(deps.archive, args);
    failed = true;
    if (when === 'after') await real.apply(deps.archive, args);
    say(`fault ${when === 'after' ? 'lose-reply' : 'fail-once'} archive.${method}`);
    throw new MongoNetworkError('injected: connection to the store lost');
  };
}
if (archiveFailOnce) failArchiveOnce(archiveFailOnce, 'before');
for (const method of (env.SLSA_GATE_TEST_ARCHIVE_LOSE_REPLY ?? '').split(',').filter(Boolean)) {
  failArchiveOnce(method, 'after');
}
const connection = await NativeConnection.connect({ address: config.temporalAddress });
const worker = await Worker.create({
  connection,
  namespace: config.temporalNamespace,
  taskQueue: config.taskQueue,
  workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
  activities: withFaults(createActivities(deps)),
  sinks: publishStepSinks({ logger: Runtime.instance().logger }),
  // After a kill the workflow's next task waits this long on the dead worker's sticky queue
  // before it goes to the shared queue (default 10s); shorter keeps the crash tests quick.
  stickyQueueScheduleToStartTimeout: '2s',
});
process.once('SIGTERM', () => worker.shutdown());
say('ready');
try {
  await worker.run();
} finally {
  await connection.close();
  await deps.close();
}

/**
 * The publish worker: runs the publishArtifact workflow and its activities.
 * Configuration comes from the environment (see config.ts); secrets stay in this process.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivityDeps } from './activity-deps.ts';
import { createActivities } from '../activities/index.ts';
import { loadConfig } from '../config/config.ts';
import { GateError, type ErrorCode } from '../core/errors.ts';

/**
 * The line a worker logs at start while it counts typed approver names: whoever can send an
 * Update to the namespace approves under any name (docs/security-model.md#verified-identities-not-typed-names).
 */
export function unverifiedApprovalsWarning(): string {
  const code: ErrorCode = 'UNVERIFIED_APPROVALS';
  return (
    `slsa-gate worker: warning ${code}: SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS is on: verdicts without a ` +
    'verified identity count where a rule asks for one approval from anyone, archived as ' +
    'unverified:<name>; turn it off outside a demo'
  );
}

export async function runWorker(): Promise<void> {
  const config = loadConfig();
  if (config.allowUnverifiedApprovals) console.error(unverifiedApprovalsWarning());
  const deps = await createActivityDeps(config);
  const connection = await NativeConnection.connect(config.temporal.nativeConnectionOptions());
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
      activities: createActivities(deps),
    });
    const stop = () => worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    console.error(`slsa-gate worker: task queue ${config.taskQueue} on ${config.temporal.describe()}`);
    await worker.run();
  } finally {
    await connection.close();
    await deps.close();
  }
}

/**
 * The worker's entry: a refusal to start (bad configuration, a store out of reach) is one
 * coded line and a non-zero exit, never a stack trace; SLSA_GATE_DEBUG=1 adds the stack.
 */
async function main(): Promise<number> {
  try {
    await runWorker();
    return 0;
  } catch (err) {
    if (err instanceof GateError) console.error(`slsa-gate worker: ${err.code}: ${err.message}`);
    else
      console.error(
        `slsa-gate worker: unexpected error: ${err instanceof Error ? err.message : String(err)}`,
      );
    if (process.env.SLSA_GATE_DEBUG === '1' && err instanceof Error) console.error(err.stack);
    return err instanceof GateError && err.layer === 'input' ? 2 : 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}

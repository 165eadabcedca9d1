/**
 * The publish worker: runs the publishArtifact workflow and its activities.
 * Configuration comes from the environment (see config.ts); secrets stay in this process.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivityDeps } from './activity-deps.ts';
import { createActivities } from '../activities/index.ts';
import { loadConfig } from '../config/config.ts';

export async function runWorker(): Promise<void> {
  const config = loadConfig();
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runWorker();
}

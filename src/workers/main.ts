/**
 * The publish worker: runs the publishArtifact workflow and its activities.
 * Configuration comes from the environment (see config.ts); secrets stay in this process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivityDeps } from './activity-deps.ts';
import { jsonLogger } from './json-logger.ts';
import { publishStepSinks } from './publish-step-sinks.ts';
import { createActivities } from '../activities/index.ts';
import { DEFAULT_EXPORT_EVERY, installReadModelSchedule } from '../consumers/read-model-schedule.ts';
import { asGateError } from '../config/coded-error.ts';
import { loadConfig, loadObservability, type Observability } from '../config/config.ts';
import { GateError, type ErrorCode } from '../core/errors.ts';
import { packageFile } from '../loaders/package-root.ts';
import { registerApprovalGauges, WorkerMetrics } from '../metrics/gate-metrics.ts';
import { listenAuthority, startOpsListeners } from '../metrics/ops-listener.ts';
import { OtlpTraceExporter } from '../traces/otlp-traces.ts';
import { activitySpans } from './activity-spans.ts';
import { EXIT, exitCodeOf } from '../cli/exit-codes.ts';

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

/** The workflow bundle scripts/build.js writes (`bundleWorkflowCode` over src/workflows/index.ts). */
export const WORKFLOW_BUNDLE = packageFile('dist/workflow-bundle.js');

/**
 * The workflow code the worker runs. Built (dist/, the installed package): the bundle made at
 * build time, so a start does not run webpack (seconds, tens of seconds on a loaded machine).
 * From the TypeScript sources (development, tsx): bundled from them at start, so an edited
 * workflow is what runs.
 */
function workflowCode(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (import.meta.url.endsWith('.ts')) {
    return { workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)) };
  }
  if (!existsSync(WORKFLOW_BUNDLE)) {
    throw new GateError(
      'CONFIG_INVALID',
      `workflow bundle ${WORKFLOW_BUNDLE} is missing: run npm run build`,
      {
        detail: { file: WORKFLOW_BUNDLE },
      },
    );
  }
  return { workflowBundle: { codePath: WORKFLOW_BUNDLE } };
}

/**
 * The process's Temporal runtime, before any connection: its logger writes the worker's JSON
 * lines (the core's own at WARN and above forwarded to it), and with
 * SLSA_GATE_TEMPORAL_METRICS_LISTEN the SDK core serves its runtime metrics (task slots,
 * polls, latencies: `temporal_*`) at `/metrics` on that address, a listener of its own.
 */
function installRuntime(observability: Observability): Runtime {
  const core = observability.temporalMetricsListen;
  return Runtime.install({
    logger: jsonLogger(observability.logLevel),
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      ...(core
        ? {
            metrics: {
              prometheus: {
                bindAddress: listenAuthority(core.host, core.port),
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }
        : {}),
    },
  });
}

export async function runWorker(): Promise<void> {
  const config = loadConfig();
  const observability = loadObservability();
  if (config.allowUnverifiedApprovals) console.error(unverifiedApprovalsWarning());
  const workflows = workflowCode();
  const metrics = new WorkerMetrics();
  const deps = await createActivityDeps(config, { metrics });
  // After the dependencies: a worker that refuses to start (a store out of reach) exits, which
  // it would not with the Temporal runtime already holding the event loop.
  const runtime = installRuntime(observability);
  registerApprovalGauges(metrics.registry, deps.archive);
  const traces =
    observability.tracesEndpoint === undefined
      ? undefined
      : new OtlpTraceExporter(observability.tracesEndpoint, 'slsa-gate-worker', (message, meta) =>
          runtime.logger.warn(message, meta),
        );
  const connection = await NativeConnection.connect(config.temporal.nativeConnectionOptions()).catch(
    async (err: unknown) => {
      // Nothing else holds the runtime yet: shut it so that the refusal to start exits.
      await traces?.close();
      await runtime.shutdown();
      await deps.close();
      throw err;
    },
  );
  try {
    if (config.readModelDir) {
      // A worker that writes the read model makes sure its schedule exists, so a fresh install
      // keeps the model fresh with no manual step; an existing schedule (another worker's, or
      // one an operator changed with `audit export --schedule --every`) is left as it is.
      const client = new Client({ connection, namespace: config.temporalNamespace });
      const schedule = await installReadModelSchedule(client, {
        taskQueue: config.taskQueue,
        every: DEFAULT_EXPORT_EVERY,
        existing: 'keep',
      }).catch((err: unknown) => {
        // One coded line (TEMPORAL_UNAVAILABLE for a refusal or an outage), never "unexpected error".
        const coded = asGateError(err);
        throw new GateError(coded.code, `read model export schedule: ${coded.message}`);
      });
      console.error(
        `slsa-gate worker: read model export schedule ${schedule.scheduleId} ${schedule.created ? `created (every ${DEFAULT_EXPORT_EVERY})` : 'already there, kept as it is'}`,
      );
    }
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      ...workflows,
      activities: createActivities(deps),
      sinks: publishStepSinks({ logger: runtime.logger, metrics, traces }),
      ...(traces ? { interceptors: { activity: [activitySpans(traces)] } } : {}),
    });
    const stop = () => worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Listening before run(): a probe sees INITIALIZED (503) until the worker polls, then RUNNING.
    // The health and metrics variables may name one address: then one listener serves both.
    const listeners = await startOpsListeners([
      ...(config.healthListen
        ? [
            {
              variable: 'SLSA_GATE_HEALTH_LISTEN',
              listen: config.healthListen,
              routes: { health: () => worker.getState() },
            },
          ]
        : []),
      ...(observability.metricsListen
        ? [
            {
              variable: 'SLSA_GATE_METRICS_LISTEN',
              listen: observability.metricsListen,
              routes: { metrics: metrics.registry },
            },
          ]
        : []),
    ]);
    console.error(`slsa-gate worker: task queue ${config.taskQueue} on ${config.temporal.describe()}`);
    for (const { urls } of listeners) {
      if (urls['/healthz']) console.error(`slsa-gate worker: health on ${urls['/healthz']}`);
      if (urls['/metrics']) console.error(`slsa-gate worker: metrics on ${urls['/metrics']}`);
    }
    if (traces) {
      const endpoint = new URL(traces.endpoint);
      console.error(`slsa-gate worker: traces to ${endpoint.origin}${endpoint.pathname}`);
    }
    try {
      await worker.run();
    } finally {
      for (const l of listeners) l.server.close();
    }
  } finally {
    await traces?.close();
    await connection.close();
    await deps.close();
  }
}

/**
 * The worker's entry: a refusal to start (bad configuration, a store out of reach) is one
 * coded line and a non-zero exit, never a stack trace; SLSA_GATE_DEBUG=1 adds the stack.
 */
export async function main(): Promise<number> {
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
    return err instanceof GateError ? exitCodeOf(err.code) : EXIT.DENIED;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}

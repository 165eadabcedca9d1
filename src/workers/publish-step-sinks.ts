/**
 * The worker's side of the publish workflow's sinks (src/workflows/publish-sinks.ts): each step
 * that ended becomes one log line and one observation of the step histogram; each run that
 * ended, one line and one observation of the publish histogram. The SDK does not call them when
 * it replays a history, so a step is counted by the worker that ran it.
 */
import type { InjectedSinks, Logger } from '@temporalio/worker';
import type { WorkerMetrics } from '../metrics/gate-metrics.ts';
import type { PublishSinks } from '../workflows/publish-sinks.ts';

export function publishStepSinks(
  metrics: WorkerMetrics | undefined,
  logger: Logger,
): InjectedSinks<PublishSinks> {
  return {
    publishSteps: {
      stepEnded: {
        fn(info, { step, outcome, durationMs, digest }) {
          metrics?.stepEnded(step, outcome, durationMs / 1000);
          logger.info('publish step', {
            workflowId: info.workflowId,
            runId: info.runId,
            digest,
            step,
            outcome,
            durationMs,
          });
        },
      },
      publishEnded: {
        fn(info, { status, code, durationMs, digest }) {
          metrics?.publishEnded(status, durationMs / 1000);
          logger.info('publish ended', {
            workflowId: info.workflowId,
            runId: info.runId,
            digest,
            status,
            ...(code ? { code } : {}),
            durationMs,
          });
        },
      },
    },
  };
}

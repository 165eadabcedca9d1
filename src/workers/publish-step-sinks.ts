/**
 * The worker's side of the publish workflow's sinks (src/workflows/publish-sinks.ts): each step
 * that ended becomes one log line, one observation of the step histogram and, with traces on,
 * one span; each run that ended, one line, one observation of the publish histogram and the
 * run's root span. The SDK does not call them when it replays a history, so a step is counted
 * by the worker that ran it.
 */
import type { InjectedSinks, Logger } from '@temporalio/worker';
import type { WorkerMetrics } from '../metrics/gate-metrics.ts';
import { newSpanId, runTrace, type OtlpTraceExporter } from '../traces/otlp-traces.ts';
import type { PublishSinks } from '../workflows/publish-sinks.ts';

export function publishStepSinks(observers: {
  logger: Logger;
  metrics?: WorkerMetrics | undefined;
  traces?: OtlpTraceExporter | undefined;
}): InjectedSinks<PublishSinks> {
  const { logger, metrics, traces } = observers;
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
          if (traces) {
            const { traceId, rootSpanId } = runTrace(info.workflowId, info.runId);
            const endMs = Date.now();
            traces.add({
              traceId,
              spanId: newSpanId(),
              parentSpanId: rootSpanId,
              name: step,
              kind: 1,
              startMs: endMs - durationMs,
              endMs,
              attributes: {
                'slsa_gate.digest': digest,
                'slsa_gate.step': step,
                'slsa_gate.outcome': outcome,
              },
              ...(outcome === 'ok' ? {} : { error: outcome }),
            });
          }
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
          if (traces) {
            const { traceId, rootSpanId } = runTrace(info.workflowId, info.runId);
            // A denial is the gate doing its job: the root span is OK, its status an attribute.
            traces.add({
              traceId,
              spanId: rootSpanId,
              name: 'publish',
              kind: 1,
              startMs: info.runStartTime.getTime(),
              endMs: Date.now(),
              attributes: {
                'slsa_gate.digest': digest,
                'slsa_gate.status': status,
                ...(code ? { 'slsa_gate.code': code } : {}),
                'temporal.workflow_id': info.workflowId,
                'temporal.run_id': info.runId,
              },
            });
          }
        },
      },
    },
  };
}

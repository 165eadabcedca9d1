/**
 * One span per attempt of each activity of a publish run, in the run's trace under its root
 * (src/traces/otlp-traces.ts): the I/O as it happened, retries as separate attempts, beside the
 * workflow's own step spans.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { newSpanId, runTrace, type OtlpTraceExporter } from '../traces/otlp-traces.ts';

export function activitySpans(traces: OtlpTraceExporter): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { info } = ctx;
        const run = info.workflowExecution;
        if (!run || info.workflowType !== 'publishArtifact') return next(input);
        const startMs = Date.now();
        let error: string | undefined;
        try {
          return await next(input);
        } catch (err) {
          error = (err as { type?: string }).type ?? (err instanceof Error ? err.name : 'error');
          throw err;
        } finally {
          const { traceId, rootSpanId } = runTrace(run.workflowId, run.runId);
          traces.add({
            traceId,
            spanId: newSpanId(),
            parentSpanId: rootSpanId,
            name: `activity ${info.activityType}`,
            kind: 1,
            startMs,
            endMs: Date.now(),
            attributes: { 'temporal.activity_type': info.activityType, 'temporal.attempt': info.attempt },
            ...(error === undefined ? {} : { error }),
          });
        }
      },
    },
  });
}

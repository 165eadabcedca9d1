/**
 * What the publish workflow tells its worker as it goes: each step that ended and the run's
 * end, timed by the workflow's clock (Temporal's deterministic time: the same on replay). The
 * worker turns them into the step log lines and the latency histograms
 * (docs/operations.md#metrics). Sinks are Temporal's way out of the workflow sandbox: the calls
 * produce no command, and are not made again when a history is replayed.
 */
import type { Sinks } from '@temporalio/workflow';

/** One step of the pipeline that ended: `ok`, `cancelled`, `error`, or the failure's code. */
export interface PublishStepReport {
  step: string;
  outcome: string;
  durationMs: number;
  /** The candidate's digest. */
  digest: string;
}

/** The run's result, with its time from the run's start. */
export interface PublishEndReport {
  status: 'PUBLISHED' | 'DENIED' | 'CANCELLED';
  code?: string;
  durationMs: number;
  digest: string;
}

export interface PublishSinks extends Sinks {
  publishSteps: {
    stepEnded(report: PublishStepReport): void;
    publishEnded(report: PublishEndReport): void;
  };
}

/**
 * The exit codes of every slsa-gate command, the worker and the CI clients: the one table
 * (docs/ci.md#exit-codes states it, ci/slsa-gate-request.mjs repeats it and a test holds the
 * three equal). A failure's code comes from its error's layer in src/core/errors.ts, so "the
 * policy said no" (1) never looks like "the gate is broken" (4).
 */
import { ERRORS, type ErrorCode, type ErrorLayer } from '../core/errors.ts';
import type { PublishResult } from '../workflows/contract.ts';

export const EXIT = Object.freeze({
  /** Published now, passed, or the command did what it was asked. */
  PUBLISHED: 0,
  /** The gate decided no: a check failed, the approval was rejected or expired. */
  DENIED: 1,
  /** The caller's input, configuration or credentials. */
  INPUT: 2,
  /** The run awaits approval, or the wait ended before a verdict; the run goes on. */
  PENDING: 3,
  /** Temporal, a registry, the store or another service the gate needs did not answer; or the gate itself failed (INTERNAL_ERROR). */
  UNAVAILABLE: 4,
  /** The run was cancelled or terminated before it decided. */
  CANCELLED: 5,
});

/** The exit code of a failure in each layer. */
const EXIT_OF_LAYER: Record<ErrorLayer, number> = {
  input: EXIT.INPUT,
  verification: EXIT.DENIED,
  policy: EXIT.DENIED,
  approval: EXIT.DENIED,
  infrastructure: EXIT.UNAVAILABLE,
  cancellation: EXIT.CANCELLED,
  // Not the caller's doing and not a decision: the gate could not answer.
  internal: EXIT.UNAVAILABLE,
};

/** The exit code of a failure with this code. */
export function exitCodeOf(code: ErrorCode): number {
  return EXIT_OF_LAYER[ERRORS[code].layer];
}

/** The exit code of a publish run's result: a denial is the gate's decision, archived as such. */
export function exitCodeOfResult(result: Pick<PublishResult, 'status'>): number {
  return result.status === 'PUBLISHED'
    ? EXIT.PUBLISHED
    : result.status === 'CANCELLED'
      ? EXIT.CANCELLED
      : EXIT.DENIED;
}

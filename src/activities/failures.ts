import { ApplicationFailure } from '@temporalio/activity';
import { isGateError } from '../core/errors.ts';

/**
 * The one place where our errors become Temporal failures: an ApplicationFailure whose type
 * is the code, non-retryable when the code says the call would fail again (src/core/errors.ts,
 * docs/checklist.md#row-32: a denial closes the run, never loops). Errors that are not ours (a store
 * driver's outage, a stepdown) pass as they are and stay retryable under the activity's policy.
 */
export function toTemporalFailure(err: unknown): unknown {
  if (!isGateError(err)) return err;
  return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !err.retryable });
}

/** Wraps every activity of a record so that errors cross the boundary through toTemporalFailure. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toTemporalFailure(err);
      }
    };
  }
  return wrapped as T;
}

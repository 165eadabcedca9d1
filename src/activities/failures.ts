import { ApplicationFailure, CompleteAsyncError, Context } from '@temporalio/activity';
import { TemporalFailure } from '@temporalio/common';
import { asGateError } from '../config/coded-error.ts';

/** The longest message a failure carries into the workflow history (and from there to results). */
const FAILURE_MESSAGE_CHARS = 4000;

/** Temporal's own signals (a cancellation, an ApplicationFailure thrown as such, async completion) and aborts pass as they are. */
function isTemporalOwn(err: unknown): boolean {
  return (
    err instanceof TemporalFailure ||
    err instanceof CompleteAsyncError ||
    (err instanceof Error && err.name === 'AbortError')
  );
}

/**
 * The one place where errors become Temporal failures: an ApplicationFailure whose type is
 * the code, non-retryable when the code says the call would fail again (src/core/errors.ts,
 * docs/checklist.md#row-32: a denial closes the run, never loops). An error that is not ours
 * is coded first (src/config/coded-error.ts): a store driver's outage ARCHIVE_UNAVAILABLE,
 * still retried under the activity's policy; anything else INTERNAL_ERROR, which denies the
 * publish with an archived decision instead of retrying a fault without end. The message is
 * bounded; no stack of the original error crosses the boundary.
 */
export function toTemporalFailure(err: unknown): unknown {
  if (isTemporalOwn(err)) return err;
  const coded = asGateError(err);
  const message =
    coded.message.length > FAILURE_MESSAGE_CHARS
      ? `${coded.message.slice(0, FAILURE_MESSAGE_CHARS)}…`
      : coded.message;
  return ApplicationFailure.create({ message, type: coded.code, nonRetryable: !coded.retryable });
}

/** The worker's log keeps what the failure leaves out (the original error and its stack), for the operator. */
function logUncoded(activity: string, err: unknown): void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return; // called outside a worker (a test calling the activity function directly)
  }
  context.log.warn('activity failed with an error that has no code', { activity, error: err });
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
        const failure = toTemporalFailure(err);
        if (failure instanceof ApplicationFailure && failure.type === 'INTERNAL_ERROR') logUncoded(name, err);
        throw failure;
      }
    };
  }
  return wrapped as T;
}

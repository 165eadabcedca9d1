import { ApplicationFailure } from '@temporalio/activity';
import { isGateError, type ErrorCode } from '../core/errors.ts';

// Codes that mean "try again later": the registry was unreachable or overloaded. Not
// ARCHIVE_ERROR: the archive raises it for what will fail again (a conflicting record, an
// illegal transition) and rethrows driver errors (store down, stepdown) as they are, which
// stay retryable; an ARCHIVE_ERROR that may pass says so in `detail.retryable`.
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set(['REGISTRY_ERROR', 'TRUST_ROOT_UNAVAILABLE']);

/**
 * The one place where our errors become Temporal failures. A GateError that would fail
 * again is a non-retryable ApplicationFailure whose type is its code (CHECKLIST row 32);
 * transient ones stay retryable so the activity's retry policy backs off and tries again.
 */
export function toTemporalFailure(err: unknown): unknown {
  if (!isGateError(err)) return err;
  const retryable =
    typeof err.detail?.retryable === 'boolean' ? err.detail.retryable : RETRYABLE_CODES.has(err.code);
  return retryable
    ? ApplicationFailure.retryable(err.message, err.code)
    : ApplicationFailure.nonRetryable(err.message, err.code);
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

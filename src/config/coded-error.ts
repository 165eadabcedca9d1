/**
 * Any error as one of ours (src/core/errors.ts), decided once for the activity boundary
 * (src/activities/failures.ts) and the CLI (src/cli/main.ts): a GateError as it is; the store
 * driver's errors ARCHIVE_UNAVAILABLE; Temporal's client errors NOT_FOUND (no such workflow)
 * or TEMPORAL_UNAVAILABLE; anything else INTERNAL_ERROR. Every message is bounded and none
 * carries a stack: what reaches a user or a workflow history is a code and one short line.
 */
import { isGrpcServiceError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { archiveDriverError } from '../archive/archive.ts';
import { boundedLine, GateError, internalError, isGateError } from '../core/errors.ts';

/**
 * gRPC status codes (grpc.io/docs/guides/status-codes) of a Temporal call that may succeed when
 * asked again: the server unreachable (UNAVAILABLE), too slow for the call's deadline
 * (DEADLINE_EXCEEDED), or over its rate limits (RESOURCE_EXHAUSTED).
 */
const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([
  14, // UNAVAILABLE
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
]);

/**
 * A Temporal call that failed for a reason that passes (the server down, slow or overloaded) as
 * TEMPORAL_UNAVAILABLE; undefined for anything else. The one place that decides it: the API
 * answers it `503` with `Retry-After` (src/api/server.ts), the CLI exits 4.
 */
export function transientTemporalError(err: unknown): GateError<'TEMPORAL_UNAVAILABLE'> | undefined {
  // The client wraps the gRPC error in a ServiceError whose cause is the gRPC error.
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e) && TRANSIENT_GRPC_CODES.has(e.code))
      return new GateError('TEMPORAL_UNAVAILABLE', `Temporal: ${boundedLine(e.details || e.message)}`);
  }
  return undefined;
}

/** Temporal's client errors as ours; undefined for anything else. */
function temporalClientError(err: unknown): GateError | undefined {
  if (err instanceof WorkflowNotFoundError)
    return new GateError('NOT_FOUND', `no workflow ${boundedLine(err.workflowId, 1024)}`);
  const transient = transientTemporalError(err);
  if (transient) return transient;
  if (err instanceof ServiceError || isGrpcServiceError(err))
    return new GateError('TEMPORAL_UNAVAILABLE', `Temporal: ${boundedLine(err.message)}`);
  return undefined;
}

/** `err` as a coded error: ours as it is, the driver's and Temporal's by kind, anything else INTERNAL_ERROR. */
export function asGateError(err: unknown): GateError {
  if (isGateError(err)) return err;
  return archiveDriverError(err) ?? temporalClientError(err) ?? internalError(err);
}

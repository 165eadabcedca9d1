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

/** Temporal's client errors as ours; undefined for anything else. */
function temporalClientError(err: unknown): GateError | undefined {
  if (err instanceof WorkflowNotFoundError)
    return new GateError('NOT_FOUND', `no workflow ${boundedLine(err.workflowId, 1024)}`);
  if (err instanceof ServiceError || isGrpcServiceError(err))
    return new GateError('TEMPORAL_UNAVAILABLE', `Temporal: ${boundedLine(err.message)}`);
  return undefined;
}

/** `err` as a coded error: ours as it is, the driver's and Temporal's by kind, anything else INTERNAL_ERROR. */
export function asGateError(err: unknown): GateError {
  if (isGateError(err)) return err;
  return archiveDriverError(err) ?? temporalClientError(err) ?? internalError(err);
}

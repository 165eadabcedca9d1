import {
  Client,
  Connection,
  isGrpcDeadlineError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { boundedLine, GateError } from '../core/errors.ts';
import type { Config, TemporalUiSettings } from './config.ts';

/** A Temporal client with its connection, and a way to bound each call. */
export interface TemporalClientSession {
  client: Client;
  /**
   * Runs `call` with a deadline `seconds` away (every gRPC call it makes carries it): no answer
   * in time is TEMPORAL_UNAVAILABLE naming `what` did not answer, never a silent wait.
   */
  within<T>(seconds: number, what: string, call: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A Temporal client for the CLI and the API, with the same connection settings as the worker.
 * A server that cannot be reached within the connect timeout is TEMPORAL_UNAVAILABLE.
 */
export async function connectClient(
  config: Pick<Config, 'temporal' | 'temporalNamespace'>,
): Promise<TemporalClientSession> {
  let connection: Connection;
  try {
    connection = await Connection.connect(config.temporal.connectionOptions());
  } catch (err) {
    throw new GateError(
      'TEMPORAL_UNAVAILABLE',
      `Temporal at ${config.temporal.describe()} did not answer: ${boundedLine(err instanceof Error ? err.message : String(err))}`,
      { detail: { address: config.temporal.address } },
    );
  }
  return {
    client: new Client({ connection, namespace: config.temporalNamespace }),
    async within(seconds, what, call) {
      try {
        return await connection.withDeadline(Date.now() + seconds * 1000, call);
      } catch (err) {
        if (isGrpcDeadlineError(err) || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
          throw new GateError('TEMPORAL_UNAVAILABLE', `${what}: no answer within ${seconds} s`, {
            detail: { seconds },
          });
        throw err;
      }
    },
    close: () => connection.close(),
  };
}

/** The Web UI page of one workflow run (of the workflow's latest run without `runId`). */
export function workflowUiUrl(settings: TemporalUiSettings, workflowId: string, runId?: string): string {
  const base = `${settings.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(settings.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}

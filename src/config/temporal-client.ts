import {
  Client,
  Connection,
  isGrpcDeadlineError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { boundedLine, GateError } from '../core/errors.ts';
import type { Config, TemporalUiSettings } from './config.ts';

/** How long a command waits for Temporal to answer its first call before it says so (exit 4). */
export const TEMPORAL_CONNECT_SECONDS = 5;

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
 * A server that does not answer within TEMPORAL_CONNECT_SECONDS is TEMPORAL_UNAVAILABLE naming
 * the address tried, never an uncoded error after the SDK's own longer deadline.
 */
export async function connectClient(
  config: Pick<Config, 'temporal' | 'temporalNamespace'>,
): Promise<TemporalClientSession> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...config.temporal.connectionOptions(),
      connectTimeout: TEMPORAL_CONNECT_SECONDS * 1000,
    });
  } catch (err) {
    throw new GateError(
      'TEMPORAL_UNAVAILABLE',
      `${config.temporal.address} did not answer within ${TEMPORAL_CONNECT_SECONDS} s (${config.temporal.describe()}): ${boundedLine(err instanceof Error ? err.message : String(err))}`,
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

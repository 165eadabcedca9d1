import { Client, Connection } from '@temporalio/client';
import { GateError } from '../core/errors.ts';
import type { Config, TemporalUiSettings } from './config.ts';

/** How long a command waits for Temporal to answer its first call before it says so (exit 4). */
export const TEMPORAL_CONNECT_SECONDS = 5;

/**
 * A Temporal client for the CLI and the API, with the same connection settings as the worker.
 * A server that does not answer within TEMPORAL_CONNECT_SECONDS is TEMPORAL_UNAVAILABLE
 * naming the address tried, never an uncoded error after the SDK's own longer deadline.
 */
export async function connectClient(
  config: Pick<Config, 'temporal' | 'temporalNamespace'>,
): Promise<{ client: Client; close: () => Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...config.temporal.connectionOptions(),
      connectTimeout: TEMPORAL_CONNECT_SECONDS * 1000,
    });
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n', 1)[0]!.slice(0, 300);
    throw new GateError(
      'TEMPORAL_UNAVAILABLE',
      `${config.temporal.address} did not answer within ${TEMPORAL_CONNECT_SECONDS} s (${config.temporal.describe()}): ${reason}`,
      { detail: { address: config.temporal.address } },
    );
  }
  return {
    client: new Client({ connection, namespace: config.temporalNamespace }),
    close: () => connection.close(),
  };
}

/** The Web UI page of one workflow run (of the workflow's latest run without `runId`). */
export function workflowUiUrl(settings: TemporalUiSettings, workflowId: string, runId?: string): string {
  const base = `${settings.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(settings.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}

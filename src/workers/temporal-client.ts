import { Client, Connection } from '@temporalio/client';
import type { Config } from './config.ts';

/** A Temporal client for the CLI and the API, with the same connection settings as the worker. */
export async function connectClient(config: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect(config.temporal.connectionOptions());
  return {
    client: new Client({ connection, namespace: config.temporalNamespace }),
    close: () => connection.close(),
  };
}

/** The Web UI page of one workflow run. */
export function workflowUiUrl(config: Config, workflowId: string, runId?: string): string {
  const base = `${config.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}` : base;
}

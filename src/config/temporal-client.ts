import { Client, Connection } from '@temporalio/client';
import type { Config, TemporalUiSettings } from './config.ts';

/** A Temporal client for the CLI and the API, with the same connection settings as the worker. */
export async function connectClient(
  config: Pick<Config, 'temporal' | 'temporalNamespace'>,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect(config.temporal.connectionOptions());
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

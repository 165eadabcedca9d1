/** The API (`slsa-gate api serve`) in front of a publish harness, on a loopback port, for the write-route tests. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { TokenVerifier, type ApiTokensConfig } from '../../src/api/api-tokens.ts';
import type * as z from 'zod';
import type { StartPublishBodySchema } from '../../src/api/publish-routes.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import { exportParquet } from '../../src/audit/read-model/export-parquet.ts';
import { serveReadModel } from '../../src/audit/read-model/served-model.ts';
import type { PublishHarness } from './publish-harness.ts';

export interface ApiRig {
  base: string;
  /** One HTTP request to the API: a bearer token, a JSON body (or `raw` text). */
  call(
    path: string,
    init?: { method?: string; token?: string; body?: unknown; raw?: string },
  ): Promise<Response>;
  /** POST /api/v1/publishes with `token`; asserts it started (202) and returns the run. */
  requestPublish(
    token: string,
    body: z.input<typeof StartPublishBodySchema>,
  ): Promise<{ workflowId: string; runId: string; handle: WorkflowHandle }>;
  /** One export run of the harness's archive into the read model the API serves (as the export schedule runs it), then the API takes it in. */
  exportReadModel(): Promise<void>;
  close(): Promise<void>;
}

/** Serves the API over `h`'s archive, Temporal client and seal key, with the credentials `tokens` configures. */
export async function startApi(
  h: PublishHarness,
  tokens: ApiTokensConfig,
  options: { temporalTimeoutMs?: number } = {},
): Promise<ApiRig> {
  const readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-api-rig-read-model-'));
  const served = serveReadModel(readModelDir);
  const server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier(tokens),
    readModel: { served, queries: [] },
    publish: {
      client: h.client,
      taskQueue: h.config.taskQueue,
      identityKey: h.identityKey,
      archive: h.deps.archive,
      ...(options.temporalTimeoutMs ? { temporalTimeoutMs: options.temporalTimeoutMs } : {}),
    },
    // The trust map the worker checks policies against (`api serve --trust-map`).
    trustMap: h.deps.trustMap,
    log: () => {},
  });
  const base = (await listenApi(server, 0)).url;
  const call: ApiRig['call'] = (path, init = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined || init.raw !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(init.raw !== undefined
        ? { body: init.raw }
        : init.body !== undefined
          ? { body: JSON.stringify(init.body) }
          : {}),
    });
  return {
    base,
    call,
    async requestPublish(token, body) {
      const res = await call('/api/v1/publishes', { method: 'POST', token, body });
      const text = await res.text();
      assert.equal(res.status, 202, text);
      const { workflowId, runId } = JSON.parse(text) as { workflowId: string; runId: string };
      return { workflowId, runId, handle: h.client.workflow.getHandle(workflowId, runId) };
    },
    async exportReadModel() {
      await exportParquet(h.deps.archive, readModelDir);
      await served.refresh();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      served.close();
      rmSync(readModelDir, { recursive: true, force: true });
    },
  };
}

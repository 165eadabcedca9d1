/** The API (`slsa-gate api serve`) in front of a publish harness, on a loopback port, for the write-route tests. */
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { TokenVerifier, type ApiTokensConfig } from '../../src/api/api-tokens.ts';
import type * as z from 'zod';
import type { StartPublishBodySchema } from '../../src/api/publish-routes.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
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
  close(): Promise<void>;
}

/** Serves the API over `h`'s archive, Temporal client and seal key, with the credentials `tokens` configures. */
export async function startApi(
  h: PublishHarness,
  tokens: ApiTokensConfig,
  options: { temporalTimeoutMs?: number } = {},
): Promise<ApiRig> {
  const server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier(tokens),
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
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

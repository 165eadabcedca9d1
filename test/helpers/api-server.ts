/** The API (src/api/server.ts) on a free loopback port, over a publish harness's Temporal and archive. */
import type { TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import type { PublishHarness } from './publish-harness.ts';

export interface RunningApi {
  base: string;
  /** A request with an optional bearer token and JSON body. */
  call(path: string, init?: { method?: string; token?: string; body?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Serves the audit routes, and with `write` the publish routes (start, progress, approve,
 * reject) sealing identities with the harness's key. Temporal's answer is awaited generously:
 * on a loaded machine a workflow task can take tens of seconds.
 */
export async function startApi(
  h: PublishHarness,
  tokens: TokenVerifier,
  opts: { write: boolean },
): Promise<RunningApi> {
  const server = createApiServer({
    archive: h.deps.archive,
    tokens,
    ...(opts.write
      ? {
          publish: {
            client: h.client,
            taskQueue: h.config.taskQueue,
            identityKey: h.identityKey,
            archive: h.deps.archive,
            temporalTimeoutMs: 120_000,
          },
        }
      : {}),
    log: () => {},
  });
  const base = (await listenApi(server, 0)).url;
  return {
    base,
    call: (path, init = {}) =>
      fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
          ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

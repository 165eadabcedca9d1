/**
 * The worker's health endpoint for container probes (Docker HEALTHCHECK, Kubernetes liveness
 * and readiness): plain HTTP, `GET /healthz` only, nothing else served. It says whether the
 * Temporal worker is polling (state RUNNING) and nothing about publishes, so it needs no
 * authentication. Off unless SLSA_GATE_HEALTH_LISTEN names where to listen (docs/operations.md).
 */
import { createServer, type Server } from 'node:http';
import { GateError } from '../core/errors.ts';

/** `HOST:PORT` from SLSA_GATE_HEALTH_LISTEN (`0.0.0.0:8081`, `[::]:8081`, `127.0.0.1:0`). */
export function parseListen(value: string, variable: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535)
    throw new GateError('CONFIG_INVALID', `${variable}: expected HOST:PORT, not ${JSON.stringify(value)}`, {
      detail: { variable },
    });
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Serves `GET /healthz`: 200 while `state()` is RUNNING, 503 otherwise, with the state as JSON. */
export async function startHealthServer(
  listen: { host: string; port: number },
  state: () => string,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const current = state();
    res
      .writeHead(current === 'RUNNING' ? 200 : 503, {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-store',
      })
      .end(JSON.stringify({ status: current }));
  });
  // A probe is a short GET: nothing is read from a body, nothing is kept open.
  server.requestTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new GateError('CONFIG_INVALID', `health endpoint: cannot listen on ${listen.host}:${listen.port}`, {
          cause: err,
        }),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : listen.port };
}

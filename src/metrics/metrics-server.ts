/**
 * The `/metrics` listener of the worker and the API (SLSA_GATE_METRICS_LISTEN): plain HTTP,
 * `GET /metrics` only, on an address of its own and never on the API's public port. It needs no
 * credential because what it says is bounded and public-safe by construction: counts and
 * durations labelled by outcome, error code, step and attestor name (no digest, repository,
 * identity or token), and it is meant to be reachable from the monitoring network alone
 * (docs/operations.md#metrics: bind to loopback or a pod address behind a NetworkPolicy).
 */
import { createServer, type Server } from 'node:http';
import type { ListenAddress } from '../config/config.ts';
import { GateError } from '../core/errors.ts';
import { EXPOSITION_CONTENT_TYPE, type MetricsRegistry } from './registry.ts';

/** `host:port` as a URL authority (IPv6 in brackets). */
export function listenAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Serves `registry` at `GET /metrics` on `listen`; resolves once listening, with the URL. */
export async function startMetricsServer(
  listen: ListenAddress,
  registry: MetricsRegistry,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.exposition().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics failed\n'),
    );
  });
  // A scrape is a short GET: nothing is read from a body, nothing is kept open for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new GateError(
          'CONFIG_INVALID',
          `SLSA_GATE_METRICS_LISTEN: cannot listen on ${listenAuthority(listen.host, listen.port)} (${err.message})`,
          { detail: { variable: 'SLSA_GATE_METRICS_LISTEN' } },
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  return { server, url: `http://${listenAuthority(listen.host, port)}/metrics` };
}

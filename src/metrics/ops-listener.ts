/**
 * The operational listeners of the worker and the API: `GET /metrics` (SLSA_GATE_METRICS_LISTEN)
 * and the worker's `GET /healthz` (SLSA_GATE_HEALTH_LISTEN), plain HTTP, on addresses of their
 * own and never on the API's public port. One listener per address: the two variables may name
 * the same one, and then it serves both. Nothing else is served, no body is read.
 *
 * Neither route asks for a credential, because neither says anything a caller could use: the
 * health route says whether the worker polls its task queue; the metrics are counts and
 * durations labelled from closed sets (outcomes, error codes, steps, route templates, attestor
 * names: no digest, repository, identity or token). Keep them reachable from the probes and the
 * monitoring network alone (docs/operations.md#metrics).
 */
import { createServer, type Server } from 'node:http';
import type { ListenAddress } from '../config/config.ts';
import { GateError } from '../core/errors.ts';
import { EXPOSITION_CONTENT_TYPE, type MetricsRegistry } from './registry.ts';

/** `host:port` as a URL authority (IPv6 in brackets). */
export function listenAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What one address serves. */
export interface OpsRoutes {
  /** `/metrics`: this registry in the Prometheus text format. */
  metrics?: MetricsRegistry;
  /** `/healthz`: 200 while the state is RUNNING, 503 otherwise, with the state as JSON. */
  health?: () => string;
}

/** A listener asked for by a variable: where, and what it serves there. */
export interface OpsListenerRequest {
  variable: string;
  listen: ListenAddress;
  routes: OpsRoutes;
}

export interface OpsListener {
  server: Server;
  /** The URL of each route it serves, by route (`/metrics`, `/healthz`). */
  urls: Partial<Record<'/metrics' | '/healthz', string>>;
}

function handler(routes: OpsRoutes) {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method === 'HEAD' ? 'HEAD' : req.method === 'GET' ? 'GET' : undefined;
    if (method && path === '/healthz' && routes.health) {
      const current = routes.health();
      res
        .writeHead(current === 'RUNNING' ? 200 : 503, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
        })
        .end(JSON.stringify({ status: current }));
      return;
    }
    if (method && path === '/metrics' && routes.metrics) {
      routes.metrics.exposition().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Cache-Control': 'no-store' });
          res.end(method === 'HEAD' ? undefined : text);
        },
        () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics failed\n'),
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
  });
}

async function listenOn(listen: ListenAddress, routes: OpsRoutes, variables: string[]): Promise<OpsListener> {
  const server = handler(routes);
  // A probe or a scrape is a short GET: nothing is read from a body, nothing is kept open long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new GateError(
          'CONFIG_INVALID',
          `${variables.join(', ')}: cannot listen on ${listenAuthority(listen.host, listen.port)} (${err.message})`,
          { detail: { variable: variables[0] ?? '' } },
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const base = `http://${listenAuthority(listen.host, typeof address === 'object' && address ? address.port : listen.port)}`;
  return {
    server,
    urls: {
      ...(routes.metrics ? { '/metrics': `${base}/metrics` } : {}),
      ...(routes.health ? { '/healthz': `${base}/healthz` } : {}),
    },
  };
}

/**
 * Starts one listener per address asked for; requests naming the same address (a fixed port)
 * share one listener serving all their routes. Closes what it started if one cannot listen.
 */
export async function startOpsListeners(requests: readonly OpsListenerRequest[]): Promise<OpsListener[]> {
  const byAddress = new Map<string, { listen: ListenAddress; routes: OpsRoutes; variables: string[] }>();
  for (const [i, r] of requests.entries()) {
    // Port 0 asks for a free port each time: never the same address as another request.
    const key = r.listen.port === 0 ? `#${i}` : listenAuthority(r.listen.host, r.listen.port);
    const found = byAddress.get(key);
    if (found) {
      found.routes = { ...found.routes, ...r.routes };
      found.variables.push(r.variable);
    } else byAddress.set(key, { listen: r.listen, routes: { ...r.routes }, variables: [r.variable] });
  }
  const started: OpsListener[] = [];
  try {
    for (const { listen, routes, variables } of byAddress.values())
      started.push(await listenOn(listen, routes, variables));
  } catch (err) {
    for (const l of started) l.server.close();
    throw err;
  }
  return started;
}

/**
 * The API's series (docs/operations.md#metrics): requests by route and status, their latency,
 * and the approvals gauges (registered beside them by `api serve`). A route label is the
 * route's template, never the path: a path is whatever a stranger sends, and would make one
 * series per workflow id, digest or typo.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsRegistry } from './registry.ts';

/** Seconds: a cached read to a progress long poll (up to 60 s). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The API's routes as label templates (src/api/server.ts), first match wins. */
const ROUTES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/api\/v1\/publishes$/, '/api/v1/publishes'],
  [/^\/api\/v1\/publishes\/.+\/approve$/, '/api/v1/publishes/:id/approve'],
  [/^\/api\/v1\/publishes\/.+\/reject$/, '/api/v1/publishes/:id/reject'],
  [/^\/api\/v1\/publishes\/.+$/, '/api/v1/publishes/:id'],
  [/^\/api\/v1\/decisions$/, '/api/v1/decisions'],
  [/^\/api\/v1\/decisions\/.+$/, '/api/v1/decisions/:ref'],
  [/^\/api\/v1\/attestations\/[^/]+\/raw$/, '/api/v1/attestations/:digest/raw'],
  [/^\/api\/v1\/stats$/, '/api/v1/stats'],
  [/^\/api\/v1\/policies$/, '/api/v1/policies'],
  [/^\/$/, '/'],
  [/^\/decisions\/.+$/, '/decisions/:ref'],
  [/^\/queries(\/.*)?$/, '/queries'],
  [/^\/(login|logout|healthz)$/, '/$1'],
  [/^\/assets\/style\.css$/, '/assets/style.css'],
];

/** The label of a request path: its route's template, `other` for anything else. */
export function routeLabel(path: string): string {
  for (const [pattern, label] of ROUTES) {
    const m = pattern.exec(path);
    if (m) return label.replace('$1', m[1] ?? '');
  }
  return 'other';
}

export class ApiMetrics {
  readonly registry: MetricsRegistry;
  readonly #requests;
  readonly #latency;

  constructor(registry = new MetricsRegistry()) {
    this.registry = registry;
    this.#requests = registry.counter(
      'slsa_gate_api_requests_total',
      'Requests answered by the API, by route template, method and status code (`aborted`: the connection closed before an answer).',
      ['route', 'method', 'status'],
    );
    this.#latency = registry.histogram(
      'slsa_gate_api_request_duration_seconds',
      'Time from a request to the end of its answer, by route template.',
      ['route'],
      REQUEST_BUCKETS,
    );
  }

  /** Counts the request once its answer is finished or its connection closed. */
  observe(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    res.once('close', () => {
      const route = routeLabel((req.url ?? '/').split('?')[0] ?? '/');
      const method = ['GET', 'HEAD', 'POST'].includes(req.method ?? '') ? req.method! : 'other';
      const status = res.headersSent ? String(res.statusCode) : 'aborted';
      this.#requests.inc({ route, method, status });
      this.#latency.observe({ route }, (performance.now() - started) / 1000);
    });
  }
}

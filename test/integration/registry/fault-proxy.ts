import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { services } from '../../helpers/services.ts';

/** What the proxy does with one request: answer it itself, or forward it (optionally rewriting the body). */
export type FaultDecision =
  | { respond: { status: number; headers?: Record<string, string>; body?: string } }
  | { forward: true; path?: string; rewriteBody?: (body: Buffer) => Buffer }
  /** Answer 200 with an endless chunked body (no Content-Length); `written` counts the bytes sent. */
  | { stream: { written: { bytes: number } } }
  /** Forward, but cut the connection after the headers and `afterBytes` bytes of the body. */
  | { drop: { afterBytes: number } }
  | undefined;

/** A loopback HTTP proxy in front of the real registry, injecting the faults a test asks for. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** Requests seen, as `METHOD path?query`. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * Starts the proxy. The Host header is passed through, so the registry's
 * Location headers point back at the proxy and every request goes through it.
 */
export async function startFaultProxy(decide: (req: IncomingMessage) => FaultDecision): Promise<FaultProxy> {
  const upstream = new URL(services.registryUrl);
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    const decision = decide(req) ?? { forward: true };
    if ('respond' in decision) {
      req.resume();
      res.writeHead(decision.respond.status, decision.respond.headers ?? {});
      res.end(decision.respond.body ?? '');
      return;
    }
    if ('stream' in decision) {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!res.destroyed && decision.stream.written.bytes < 1024 * 1024 * 1024) {
          decision.stream.written.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
      return;
    }
    if ('drop' in decision) {
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.write(Buffer.concat(chunks).subarray(0, decision.drop.afterBytes));
            res.socket?.destroy();
          });
        },
      );
      req.pipe(out);
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: decision.path ?? req.url,
        headers: req.headers,
      },
      (up) => {
        if (decision.rewriteBody === undefined) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = decision.rewriteBody!(Buffer.concat(chunks));
          res.writeHead(up.statusCode ?? 502, { ...up.headers, 'content-length': String(body.length) });
          res.end(body);
        });
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A loopback HTTP attestation store for the attestor tests and the bench, run as its own
 * process. Run: `node --import tsx test/helpers/attestation-server.ts <dir>`; prints
 * `listening <port>` once ready.
 *
 * It serves `<dir>/<alg>-<value>.jsonl` (one bundle per line) at
 * `GET /v1/attestations?digest=<alg>:<value>&predicateType=<uri>` (protocol in
 * docs/attestors.md), and takes its behaviour from `POST /_control`:
 *   { "mode": "ok" | "unavailable" | "pending", "times"?: n, "retryAfterSeconds"?: n, "latencyMs"?: n }
 * `times` answers that way for the next n attestation requests only, then `ok`;
 * `latencyMs` delays every attestation answer (a store across a network).
 * It also answers as an Archivista instance would: `POST /v1/query` (the search by subject
 * digest; only its variables are read) from `<dir>/archivista-<alg>-<value>.gitoids`, and
 * `GET /v1/download/<gitoid>` from `<dir>/archivista-<gitoid>.json`.
 * `GET /_stats` returns `{ "requests": n }` (attestation requests served so far).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: attestation-server.ts <dir>');
  process.exit(2);
}

let mode: 'ok' | 'unavailable' | 'pending' = 'ok';
let times: number | undefined;
let retryAfterSeconds = 1;
let requests = 0;
let latencyMs = 0;

function predicateTypeOf(bundle: {
  dsseEnvelope?: { payload?: string };
  payload?: string;
}): string | undefined {
  const payload = bundle.dsseEnvelope?.payload ?? bundle.payload;
  if (payload === undefined) return undefined;
  return (JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { predicateType?: string })
    .predicateType;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'POST' && url.pathname === '/_control') {
      const c = JSON.parse(await body(req)) as {
        mode: typeof mode;
        times?: number;
        retryAfterSeconds?: number;
        latencyMs?: number;
      };
      mode = c.mode;
      latencyMs = c.latencyMs ?? 0;
      times = c.times;
      retryAfterSeconds = c.retryAfterSeconds ?? 1;
      return json(200, { mode });
    }
    if (req.method === 'GET' && url.pathname === '/_stats') return json(200, { requests });
    const archivistaQuery = req.method === 'POST' && url.pathname === '/v1/query';
    const archivistaDownload = req.method === 'GET' && /^\/v1\/download\/[0-9a-f]{64}$/.test(url.pathname);
    const store = req.method === 'GET' && url.pathname === '/v1/attestations';
    if (!archivistaQuery && !archivistaDownload && !store) return json(404, { error: 'not found' });
    const request = archivistaQuery ? await body(req) : '';
    requests++;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const current = mode;
    if (times !== undefined && --times <= 0) {
      mode = 'ok';
      times = undefined;
    }
    if (current === 'unavailable')
      return json(503, { error: 'unavailable' }, { 'retry-after': String(retryAfterSeconds) });
    if (archivistaQuery) {
      // Archivista's search by subject digest: only the variables matter here.
      const { algo, digest } = (JSON.parse(request) as { variables: { algo: string; digest: string } })
        .variables;
      const index = join(dir, `archivista-${algo}-${digest}.gitoids`);
      const gitoids = existsSync(index) ? readFileSync(index, 'utf8').split('\n').filter(Boolean) : [];
      return json(200, { data: { dsses: { edges: gitoids.map((g) => ({ node: { gitoidSha256: g } })) } } });
    }
    if (archivistaDownload) {
      const file = join(dir, `archivista-${url.pathname.slice('/v1/download/'.length)}.json`);
      if (!existsSync(file)) return json(404, { error: 'no such gitoid' });
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(readFileSync(file));
    }
    if (current === 'pending') return json(202, { status: 'pending', retryAfterSeconds });
    const digest = url.searchParams.get('digest') ?? '';
    if (!/^[A-Za-z0-9_]+:[0-9a-f]+$/.test(digest)) return json(400, { error: 'bad digest' });
    const file = join(dir, `${digest.replace(':', '-')}.jsonl`);
    if (!existsSync(file)) return json(404, { error: 'no attestations' });
    const wanted = url.searchParams.get('predicateType');
    const attestations = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, never>)
      .filter((b) => wanted === null || predicateTypeOf(b) === wanted);
    return json(200, { attestations });
  })().catch((err: unknown) => {
    res.writeHead(500);
    res.end(String(err));
  });
});

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : '?'}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

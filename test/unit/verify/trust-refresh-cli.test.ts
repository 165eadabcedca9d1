/**
 * `slsa-gate trust refresh` through the real CLI against local mirrors: unreachable,
 * serving nothing newer than the pinned (expired) TUF root, and serving a rolled-back
 * root. Each must fail with TRUST_ROOT_UNAVAILABLE and write nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TUF_ROOT = join(ROOT, 'assets/trust/sigstore-tuf-root-v15.json');

function refresh(mirror: string): Promise<{ exit: number; stderr: string; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'trust-refresh-'));
  const out = join(dir, 'trusted_root.json');
  const args = [
    'trust',
    'refresh',
    '--mirror',
    mirror,
    '--out',
    out,
    '--cache-dir',
    join(dir, 'cache'),
    '--timeout',
    '3000',
  ];
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin/slsa-gate.js'), ...args], (err, _stdout, stderr) => {
      done({ exit: err ? Number((err as { code?: unknown }).code) : 0, stderr, out });
    });
  });
}

/** A mirror answering from `routes` (path → body), 404 otherwise; records the paths asked for. */
async function mirror(
  routes: Record<string, string | Buffer>,
): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const body = routes[req.url ?? ''];
    if (body === undefined) res.statusCode = 404;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

function assertRefused(r: { exit: number; stderr: string; out: string }): void {
  // TRUST_ROOT_UNAVAILABLE is an infrastructure failure: exit 4, never 1 "denied" (docs/ci.md#exit-codes).
  assert.equal(r.exit, 4, r.stderr);
  assert.match(r.stderr, /^slsa-gate: TRUST_ROOT_UNAVAILABLE: /);
  assert.equal(existsSync(r.out), false, 'nothing written');
}

test('offline (mirror unreachable): TRUST_ROOT_UNAVAILABLE', async () => {
  const m = await mirror({});
  const url = m.url;
  await new Promise((r) => m.server.close(r));
  assertRefused(await refresh(url));
});

test('no newer root than the pinned one, which has expired: refused', async () => {
  const pinned = JSON.parse(readFileSync(TUF_ROOT, 'utf8')) as {
    signed: { version: number; expires: string };
  };
  assert.ok(
    new Date(pinned.signed.expires) < new Date(),
    'the pinned TUF root must be expired for this test',
  );
  const m = await mirror({ '/timestamp.json': '{}' });
  try {
    assertRefused(await refresh(m.url));
    assert.ok(
      m.seen.includes(`/${pinned.signed.version + 1}.root.json`),
      'asked the mirror for the next root',
    );
  } finally {
    m.server.close();
  }
});

test('a rolled-back root (version N served as N+1): refused', async () => {
  const m = await mirror({ '/16.root.json': readFileSync(TUF_ROOT) });
  try {
    assertRefused(await refresh(m.url));
    assert.ok(m.seen.includes('/16.root.json'));
  } finally {
    m.server.close();
  }
});

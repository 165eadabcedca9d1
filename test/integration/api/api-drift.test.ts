/**
 * The release monitor's drift findings through the audit API and the web view, against the
 * real store: the same token scope as every read route, the findings as the archive holds them
 * (one record per standing finding, with its count), archived text escaped in the page.
 *
 * Failing before: there was no route; drift reached only someone running `slsa-gate audit drift`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { hashToken, TokenVerifier } from '../../../src/api/api-tokens.ts';
import { createApiServer, listenApi, SESSION_COOKIE } from '../../../src/api/server.ts';
import { type Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import type { DriftRecord } from '../../../src/archive/drift-record.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { fakeDigest } from '../archive/make-records.ts';

const db = uniqueName('api_drift').replaceAll('-', '_');
const reader = randomBytes(32).toString('hex');
const publisher = randomBytes(32).toString('hex');
// Made here: a reason as an attacker controls it (a tag name and registry error text), with markup.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;
const planted = fakeDigest('planted');
let archive: Archive;
let server: Server;
let base: string;

const get = (path: string, headers: Record<string, string> = { Authorization: `Bearer ${reader}` }) =>
  fetch(`${base}${path}`, { headers, redirect: 'manual' });

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, db);
  const run = (n: number) => ({
    workflowId: 'monitor',
    runId: `run-${n}`,
    at: new Date(Date.UTC(2026, 0, n)).toISOString(),
  });
  // Two runs see the planted image; the second also finds an unreadable repository.
  for (const n of [1, 2])
    await archive.recordDrift(
      {
        repository: 'reg.example/release/app',
        tag: 'v9.9.9',
        digest: planted,
        kind: 'unpublished-digest',
        reason: hostile,
      },
      run(n),
    );
  await archive.recordDrift(
    {
      repository: 'reg.example/release/gone',
      kind: 'unreadable',
      code: 'REGISTRY_ERROR',
      reason: 'registry answered 404',
    },
    run(2),
  );
  // Run 3 reads the repository that was unreadable, completely, and finds nothing: it closes
  // that finding (a run that read it all, docs/consumers.md#standing-findings-counts-and-the-temporal-ui).
  await archive.closeDriftNotSeen('reg.example/release/gone', run(3));
  server = createApiServer({
    archive,
    tokens: new TokenVerifier({
      tokens: [
        { name: 'reader', sha256: hashToken(reader), scopes: ['audit:read'] },
        { name: 'ci', sha256: hashToken(publisher), scopes: ['publish'], sources: ['github.com/acme/app'] },
      ],
    }),
    log: () => {},
  });
  base = (await listenApi(server, 0)).url;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (archive) await databaseOf(archive).dropDatabase();
  await archive?.close();
});

test('GET /api/v1/drift lists each standing finding once, last seen first, to the audit:read scope only', async () => {
  const res = await get('/api/v1/drift');
  assert.equal(res.status, 200);
  const { items } = (await res.json()) as { items: DriftRecord[] };
  assert.deepEqual(
    items.map((d) => [d.repository, d.kind, d.count, d.firstRunId, d.runId]),
    // Both last seen by run 2: then by `_id`, descending.
    [
      ['reg.example/release/gone', 'unreadable', 1, 'run-2', 'run-2'],
      ['reg.example/release/app', 'unpublished-digest', 2, 'run-1', 'run-2'],
    ],
  );
  assert.equal(items.find((d) => d.kind === 'unreadable')?.code, 'REGISTRY_ERROR');
  assert.equal(items.find((d) => d.kind === 'unreadable')?.clearedAt, '2026-01-03T00:00:00.000Z');
  assert.equal(items.find((d) => d.kind === 'unpublished-digest')?.clearedAt, undefined);

  const one = (await (await get('/api/v1/drift?repository=reg.example/release/app&limit=10')).json()) as {
    items: DriftRecord[];
  };
  assert.deepEqual(
    one.items.map((d) => `${d.tag} ${d.digest}`),
    [`v9.9.9 ${planted}`],
  );

  assert.equal((await get('/api/v1/drift', {})).status, 401);
  assert.equal((await get('/api/v1/drift', { Authorization: `Bearer ${publisher}` })).status, 403);
  for (const query of ['limit=0', 'limit=1001', 'limit=x', 'kind=revoked', 'limit=5&limit=6'])
    assert.equal((await get(`/api/v1/drift?${query}`)).status, 400, query);
});

test('the web view shows the findings on /drift, archived text escaped', async () => {
  const res = await get('/drift', { Cookie: `${SESSION_COOKIE}=${encodeURIComponent(reader)}` });
  assert.equal(res.status, 200);
  const page = await res.text();
  assert.ok(page.includes('reg.example/release/app:v9.9.9'));
  assert.ok(page.includes(planted));
  assert.ok(page.includes('REGISTRY_ERROR'));
  assert.ok(page.includes('gone since 2026-01-03T00:00:00.000Z'), 'a closed finding says so');
  assert.ok(!page.includes('<script>alert(1)'), 'the reason is escaped');
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.equal((await get('/drift', {})).status, 401);
});

/**
 * The audit API over HTTP against the real store: one decision made by a real publish workflow
 * (publish harness: real Worker, Temporal, registry, store) plus generated ones with a known
 * answer for every filter, and a bulk load for pagination. Lists and statistics come from the
 * read model exported from that store (as the export schedule would), one decision and its
 * bytes from the store. Every database is dropped at the end.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Binary } from 'mongodb';
import { hashToken, loadApiTokens, TokenVerifier } from '../../../src/api/api-tokens.ts';
import { createApiServer, listenApi, SESSION_COOKIE } from '../../../src/api/server.ts';
import {
  type Archive,
  buildDecisionRecord,
  collectionsOf,
  openArchive,
} from '../../../src/archive/archive.ts';
import type { AuditFilters } from '../../../src/archive/audit-filters.ts';
import { TIME_FORMS } from '../../../src/archive/audit-time.ts';
import { toDoc } from '../../../src/archive/collections.ts';
import { sha256Digest } from '../../../src/archive/digest.ts';
import { decisionStats, listDecisions } from '../../../src/archive/queries.ts';
import { exportParquet, readExportState } from '../../../src/audit/read-model/export-parquet.ts';
import { serveReadModel, type ServedReadModel } from '../../../src/audit/read-model/served-model.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { buildAndAttest } from '../../../src/demo/demo-builder.ts';
import type { PublishResult } from '../../../src/workflows/contract.ts';
import { auditDecisions, builderA, policyB, storeAuditDecisions } from '../../helpers/audit-decisions.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../../helpers/publish-harness.ts';
import { services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, fakeDigest, makeDecision } from '../archive/make-records.ts';

const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;

const reader = randomBytes(32).toString('hex');
const writerOnly = randomBytes(32).toString('hex');

/** Generated decisions with a known answer for every filter (dates in March 2026; the real one is today). */
const generated = auditDecisions('api', { hostile });
const id = (key: string) => generated[key]!.decisionId;
const BULK = 130;

let h: PublishHarness;
let archive: Archive;
let real: PublishResult;
let server: Server;
let base: string;
let readModelDir: string;
let served: ServedReadModel;

async function get(path: string, token: string | null = reader, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    headers: { ...(token !== null ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    redirect: 'manual',
  });
  return res;
}

async function getJson<T = Record<string, unknown>>(path: string): Promise<T> {
  const res = await get(path);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as T;
}

async function listIds(query: string): Promise<string[]> {
  const body = await getJson<{ items: Array<{ _id: string }>; nextCursor?: string }>(
    `/api/v1/decisions?${query}&limit=1000`,
  );
  assert.equal(body.nextCursor, undefined);
  return body.items.map((d) => d._id).sort();
}

before(async () => {
  h = await startPublishHarness();
  archive = h.deps.archive;
  const staging = `staging/${uniqueName('api')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  real = await h.publish(requestFor(h, staging, built.digest, { tag: 'v1.0.0' }));
  assert.equal(real.status, 'PUBLISHED', `${real.code}: ${real.reason}`);

  await storeAuditDecisions(archive, generated, { approvalReason: `fine ${hostile}` });

  // Bulk decisions for pagination, one minute apart (buildDecisionRecord, as the bench loads them).
  const bulk = Array.from({ length: BULK }, (_, i) =>
    toDoc(
      'decisions',
      buildDecisionRecord(
        makeDecision(`bulk-${i}`, {
          artifact: { repository: 'reg/bulk/app', digest: fakeDigest(`bulk-${i}`) },
          decidedAt: new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString(),
        }),
      ).record,
    ),
  );
  await collectionsOf(archive).decisions.insertMany(bulk);

  const tokens = new TokenVerifier({
    tokens: [
      { name: 'auditor', sha256: hashToken(reader), scopes: ['audit:read'] },
      { name: 'robot', sha256: hashToken(writerOnly), scopes: ['publish'], sources: ['github.com/acme/app'] },
    ],
  });
  // Everything above reaches the read model by an export run, as the export schedule runs it.
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-api-read-model-'));
  await exportParquet(archive, readModelDir);
  served = serveReadModel(readModelDir);
  server = createApiServer({ archive, tokens, readModel: { served, queries: [] }, log: () => {} });
  base = (await listenApi(server, 0)).url;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  served?.close();
  if (readModelDir) rmSync(readModelDir, { recursive: true, force: true });
  await h?.close();
});

describe('authentication', () => {
  const UNAUTHENTICATED = '{"error":{"code":"UNAUTHENTICATED","message":"a valid bearer token is required"}}';

  test('no token, a wrong token, a token sharing the prefix, a malformed header: 401, one body', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { Authorization: `Bearer ${randomBytes(32).toString('hex')}` },
      { Authorization: `Bearer ${reader.slice(0, -1)}${reader.endsWith('0') ? '1' : '0'}` },
      { Authorization: `Bearer ${reader}x` },
      { Authorization: `Basic ${Buffer.from(`u:${reader}`).toString('base64')}` },
      { Authorization: 'Bearer' },
      { Authorization: `Bearer ${hashToken(reader)}` },
    ];
    for (const headers of cases) {
      for (const path of [
        '/api/v1/decisions?outcome=<bogus>&builderId=secret-builder',
        `/api/v1/decisions/${encodeURIComponent(real.decisionId)}`,
        '/api/v1/stats',
        `/api/v1/attestations/${attestationDigest('api1')}/raw`,
      ]) {
        const res = await get(path, null, headers);
        assert.equal(res.status, 401, `${JSON.stringify(headers)} ${path}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        const text = await res.text();
        assert.equal(text, UNAUTHENTICATED, 'nothing but the code: no filter, no stack');
      }
    }
  });

  test('a valid token without the audit:read scope gets 403', async () => {
    const res = await get('/api/v1/decisions', writerOnly);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  });

  test('the session cookie is accepted like the header; a header present wins, valid or not', async () => {
    const cookie = `${SESSION_COOKIE}=${encodeURIComponent(reader)}`;
    assert.equal((await get('/api/v1/stats', null, { Cookie: cookie })).status, 200);
    assert.equal((await get('/api/v1/stats', null, { Cookie: `${SESSION_COOKIE}=nope` })).status, 401);
    const res = await get('/api/v1/stats', 'wrong', { Cookie: cookie });
    assert.equal(res.status, 401);
  });

  test('the API is read-only: other methods are 405', async () => {
    const res = await fetch(`${base}/api/v1/decisions`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${reader}` },
    });
    assert.equal(res.status, 405);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
    // The unauthenticated routes too, and HEAD answers like GET without a body.
    assert.equal((await fetch(`${base}/assets/style.css`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/logout`)).status, 405);
    const head = await fetch(`${base}/api/v1/stats`, {
      method: 'HEAD',
      headers: { Authorization: `Bearer ${reader}` },
    });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('tokens are configured as hashes; a bad configuration is CONFIG_INVALID', () => {
    const env = {
      SLSA_GATE_API_TOKENS: JSON.stringify({
        tokens: [{ name: 'a', sha256: hashToken(reader), scopes: ['audit:read'] }],
      }),
    };
    assert.equal(loadApiTokens({ env }).authenticate(reader)?.name, 'a');
    assert.equal(loadApiTokens({ env }).authenticate(hashToken(reader)), undefined);
    assert.equal(loadApiTokens({ env }).authenticate(''), undefined);
    for (const bad of [{}, { SLSA_GATE_API_TOKENS: '{"tokens":[{"name":"a","sha256":"abc"}]}' }])
      assert.throws(
        () => loadApiTokens({ env: bad }),
        (err: unknown) => isGateError(err) && err.code === 'CONFIG_INVALID',
      );
  });
});

describe('decisions: every filter over HTTP', () => {
  const cases: Array<[string, AuditFilters, () => string[]]> = [
    ['artifactDigest', { artifactDigest: fakeDigest('artifact-api1') }, () => [id('d1')]],
    ['repository', { repository: 'reg/release/app' }, () => [id('d1'), id('d2'), id('d5')]],
    ['tag', { repository: 'reg/release/app', tag: 'v2' }, () => [id('d2')]],
    ['builderId', { builderId: builderA }, () => [id('d1'), id('d3'), id('d4'), id('d5')]],
    ['builderVersion', { builderId: builderA, builderVersion: 'v1.2' }, () => [id('d1'), id('d4'), id('d5')]],
    ['sourceRepo', { sourceRepo: 'git+https://github.com/acme/lib' }, () => [id('d3')]],
    ['sourceCommit', { sourceCommit: '2'.repeat(40) }, () => [id('d2')]],
    ['outcome', { outcome: 'FAILED' }, () => [id('d2'), id('d4')]],
    [
      'outcome PASSED (real)',
      { outcome: 'PASSED', since: '2026-03-01T00:00:00Z' },
      () => [id('d1'), real.decisionId],
    ],
    ['status', { status: 'published' }, () => [id('d1'), real.decisionId]],
    ['failingCode', { failingCode: 'DEP_LEVEL_INSUFFICIENT' }, () => [id('d4')]],
    ['failingCheck', { failingCheck: 'builder' }, () => [id('d2')]],
    ['policyDigest', { policyDigest: sha256Digest(policyB) }, () => [id('d2'), id('d5')]],
    ['withException', { withException: true }, () => [id('d3')]],
    [
      'withException=false',
      { withException: false, since: '2026-03-01T00:00:00Z' },
      () => [id('d1'), id('d2'), id('d4'), id('d5'), real.decisionId],
    ],
    ['approver', { approver: 'alice@acme.example' }, () => [id('d3')]],
    [
      'since+until',
      { since: '2026-03-03T00:00:00Z', until: '2026-03-04T00:00:00Z' },
      () => [id('d3'), id('d4')],
    ],
    // Before: a date was a 400 here while `audit impact --since` accepted it.
    [
      'since+until as dates (UTC day starts)',
      { since: '2026-03-03', until: '2026-03-04' },
      () => [id('d3'), id('d4')],
    ],
    // 11:00 at +01:00 is 10:00Z, when d3 was decided (inclusive); read without its offset it would miss d3.
    [
      'since as an instant with an offset',
      { since: '2026-03-03T11:00:00+01:00', until: '2026-03-04' },
      () => [id('d3'), id('d4')],
    ],
    [
      'builder of the real publish',
      { builderId: 'https://slsa-gate.dev/demo-builder' },
      () => [real.decisionId],
    ],
  ];
  for (const [name, filters, expected] of cases) {
    test(name, async () => {
      const query = new URLSearchParams(
        Object.entries(filters).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString();
      const ids = await listIds(query);
      assert.deepEqual(ids, expected().sort());
      // The same answer as the query function the CLI calls.
      const direct = await listDecisions(archive, filters, { limit: 1000 });
      assert.deepEqual(ids, direct.items.map((d) => d._id).sort());
    });
  }

  test('bad filters are 400 INPUT_INVALID naming the parameter', async () => {
    const bad: Array<[string, string]> = [
      ['outcome=NOPE', 'outcome'],
      ['since=yesterday', 'since'],
      ['artifactDigest=sha256:xyz', 'artifactDigest'],
      ['failingCode=NOT_A_CODE', 'failingCode'],
      ['withException=yes', 'withException'],
      ['builder=x', 'builder'],
      ['tag=a&tag=b', 'tag'],
      ['limit=0', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
    ];
    for (const [query, parameter] of bad) {
      const res = await get(`/api/v1/decisions?${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: { code: string; parameter: string } };
      assert.equal(body.error.code, 'INPUT_INVALID', query);
      assert.equal(body.error.parameter, parameter, query);
    }
    for (const [parameter, value] of [
      ['since', '2026-02-30'],
      ['until', '2026-03-04T10:00:00'],
    ]) {
      const res = await get(`/api/v1/decisions?${parameter}=${value}`);
      const body = (await res.json()) as { error: { code: string; message: string; parameter: string } };
      assert.deepEqual(body.error, {
        code: 'INPUT_INVALID',
        message: `${parameter}: "${value}" is not ${TIME_FORMS}`,
        parameter,
      });
    }
    const stats = await get('/api/v1/stats?cursor=x');
    assert.equal(stats.status, 400, 'stats has no pages');
  });

  test('keyset pagination walks every decision once, newest first', async () => {
    const seen: string[] = [];
    const times: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const body = await getJson<{ items: Array<{ _id: string; decidedAt: string }>; nextCursor?: string }>(
        `/api/v1/decisions?repository=reg%2Fbulk%2Fapp&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      pages++;
      assert.equal(body.items.length, pages < 3 ? 50 : BULK - 100);
      seen.push(...body.items.map((d) => d._id));
      times.push(...body.items.map((d) => d.decidedAt));
      cursor = body.nextCursor;
    } while (cursor !== undefined);
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, BULK);
    assert.deepEqual(times, [...times].sort().reverse());
  });
});

describe('one decision, its evidence and the stats', () => {
  test('the detail of a real publish: checks, events, VSA and attestation metadata with raw links', async () => {
    const detail = await getJson<{
      decision: { _id: string; status: string; checks: Array<{ id: string; result: string }> };
      attestations: Array<{ _id: string; raw?: string; rawUrl: string; origin: string }>;
      vsas: Array<{ digest: string; raw?: string; rawUrl: string; direction: string }>;
      events: Array<{ to: string }>;
      policy: { digest: string } | null;
    }>(`/api/v1/decisions/${encodeURIComponent(real.decisionId)}`);
    assert.equal(detail.decision._id, real.decisionId);
    assert.equal(detail.decision.status, 'published');
    assert.ok(detail.decision.checks.some((c) => c.id === 'build-level' && c.result === 'PASS'));
    assert.deepEqual(
      detail.events.map((e) => e.to),
      ['decided', 'published'],
    );
    assert.equal(detail.policy?.digest, real.policyDigest);
    assert.ok(detail.attestations.length >= 1);
    for (const a of detail.attestations) {
      assert.equal(a.raw, undefined, 'raw bytes are linked, not inlined');
      assert.equal(a.rawUrl, `/api/v1/attestations/${a._id}/raw`);
      const res = await get(a.rawUrl);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, a._id);
      assert.equal(
        res.headers.get('repr-digest'),
        `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`,
      );
    }
    const issued = detail.vsas.find((v) => v.direction === 'issued');
    assert.ok(issued, 'the issued VSA is listed');
    assert.equal(issued.raw, undefined);
    const vsa = await get(issued.rawUrl);
    assert.equal(vsa.status, 200);
    const vsaBytes = Buffer.from(await vsa.arrayBuffer());
    assert.equal(`sha256:${createHash('sha256').update(vsaBytes).digest('hex')}`, issued.digest);
  });

  test('a decision by workflow id or digest; unknown ones are 404', async () => {
    const byDigest = await getJson<{ decision: { _id: string } }>(
      `/api/v1/decisions/${encodeURIComponent(fakeDigest('artifact-api3'))}`,
    );
    assert.equal(byDigest.decision._id, id('d3'));
    const byWorkflow = await getJson<{ decision: { _id: string }; approvals: Array<{ approver: string }> }>(
      `/api/v1/decisions/${encodeURIComponent(generated.d3!.workflowId)}`,
    );
    assert.deepEqual(
      byWorkflow.approvals.map((a) => a.approver),
      ['alice@acme.example'],
    );
    for (const path of [
      '/api/v1/decisions/no-such-decision',
      `/api/v1/attestations/${fakeDigest('nothing')}/raw`,
      '/api/v1/attestations/sha256:abc/raw',
      '/api/v1/nothing',
    ]) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
  });

  test('stats match decisionStats for the same filters', async () => {
    const { asOf, ...body } = await getJson('/api/v1/stats?repository=reg%2Frelease%2Fapp');
    assert.deepEqual(body, await decisionStats(archive, { repository: 'reg/release/app' }));
    assert.equal(body.total, 3);
    // How fresh: the export run the served model holds.
    assert.equal(asOf, readExportState(readModelDir)?.exportedAt);
  });

  test('bytes changed in the store are refused, never served under their digest', async () => {
    const digest = attestationDigest('api1');
    assert.equal((await get(`/api/v1/attestations/${digest}/raw`)).status, 200);
    await collectionsOf(archive).attestations.updateOne(
      { _id: digest },
      { $set: { raw: new Binary(Buffer.from('{"_type":"changed"}')) } },
    );
    const res = await get(`/api/v1/attestations/${digest}/raw`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'ARCHIVE_ERROR');
  });
});

describe('the store out of reach', () => {
  test('a lost archive connection is 503 ARCHIVE_UNAVAILABLE with Retry-After, not a 500', async () => {
    const lost = await openArchive(services.mongoUri, h.config.database, { createIndexes: false });
    await lost.close();
    const tokens = new TokenVerifier({
      tokens: [{ name: 'a', sha256: hashToken(reader), scopes: ['audit:read'] }],
    });
    const down = createApiServer({ archive: lost, tokens, log: () => {} });
    const { url } = await listenApi(down, 0);
    try {
      // One decision is read from the store (the lists come from the read model).
      const res = await fetch(`${url}/api/v1/decisions/${encodeURIComponent(real.decisionId)}`, {
        headers: { Authorization: `Bearer ${reader}` },
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ARCHIVE_UNAVAILABLE');
      const anonymous = await fetch(`${url}/api/v1/decisions/${encodeURIComponent(real.decisionId)}`);
      assert.equal(anonymous.status, 401, 'authentication comes first, even with the store down');
    } finally {
      down.closeAllConnections();
      await new Promise((resolve) => down.close(resolve));
    }
  });
});

describe('web view over HTTP', () => {
  test('pages need the token: 401 login page; the login form sets an HttpOnly SameSite=Strict cookie', async () => {
    const anonymous = await get('/', null);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
    assert.match(await anonymous.text(), /<form method="post" action="\/login"/);

    const post = (token: string, origin?: string) =>
      fetch(`${base}/login`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          ...(origin ? { Origin: origin } : {}),
        },
        body: new URLSearchParams({ token }).toString(),
        redirect: 'manual',
      });
    const ok = await post(reader, base);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/');
    const cookie = ok.headers.get('set-cookie') ?? '';
    assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=${reader};`));
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Strict/);
    assert.equal((await post('wrong', base)).status, 401);
    assert.equal((await post(writerOnly, base)).status, 403);
    assert.equal((await post(reader, 'http://evil.example')).status, 403);
  });

  test('login and logout need a same-origin Origin: missing, null or another one sets no cookie', async () => {
    // Attacker material: login CSRF. A page elsewhere posts the attacker's own valid token to
    // /login so that the victim's browser browses under the attacker's session. A sandboxed
    // iframe or a data: URL sends `Origin: null`; a client that strips the header sends none.
    const form = (path: string, origin: string | undefined) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          ...(origin !== undefined ? { Origin: origin } : {}),
        },
        body: new URLSearchParams({ token: reader }).toString(),
        redirect: 'manual',
      });
    const port = new URL(base).port;
    for (const origin of [
      undefined,
      'null',
      'http://evil.example',
      `http://evil.example:${port}`,
      'not a url',
    ]) {
      for (const path of ['/login', '/logout']) {
        const res = await form(path, origin);
        assert.equal(res.status, 403, `${path} with Origin ${String(origin)}`);
        assert.equal(res.headers.get('set-cookie'), null, `${path} with Origin ${String(origin)}`);
      }
    }
    const same = await form('/login', base);
    assert.equal(same.status, 303);
    assert.match(same.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=${reader};`));
  });

  test('every archived value is escaped and the CSP allows no script', async () => {
    const list = await get(`/?repository=reg%2Frelease%2Fapp`);
    assert.equal(list.status, 200);
    const csp = list.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src|unsafe-inline/);
    const page = await list.text();
    assert.ok(
      page.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'),
    );
    assert.ok(!page.includes('<script'), 'no script element');
    assert.ok(!page.includes('<img'), 'no injected element');
    assert.match(page, /<svg\s[^>]*class="chart"/);

    for (const key of ['d2', 'd3']) {
      const detail = await get(`/decisions/${encodeURIComponent(id(key))}`);
      assert.equal(detail.status, 200);
      const text = await detail.text();
      assert.ok(text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), key);
      assert.ok(!text.includes('<script') && !text.includes('<img'), key);
    }
    const first = await (await get('/?repository=reg%2Fbulk%2Fapp&limit=100')).text();
    const next = /<a rel="next" href="([^"]+)"/.exec(first);
    assert.ok(next, 'a next-page link');
    const href = next[1]!.replaceAll('&amp;', '&');
    assert.match(href, /repository=reg%2Fbulk%2Fapp/, 'the link keeps the filters');
    const second = await (await get(href)).text();
    assert.equal((second.match(/class="detail"/g) ?? []).length, BULK - 100);
    assert.ok(!/rel="next"/.test(second), 'the last page has no next link');

    const bad = await get('/?outcome=%3Cscript%3E');
    assert.equal(bad.status, 400);
    assert.ok(!(await bad.text()).includes('<script'));
  });
});

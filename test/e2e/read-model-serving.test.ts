/**
 * The auditors' lists and statistics served from the read model, end to end on the real
 * services (FerretDB, the Temporal dev server with a Worker, the API server, the CLI as a
 * process): a generated archive of a few hundred decisions written through the archive's own
 * write methods reaches the read model only through the export schedule (a Temporal
 * Schedule running the export activity), and the API, the web view and the CLI answer the
 * same named queries as the store does on the same data, each saying how fresh it is.
 *
 * Failing before: the API and the CLI listed from the store (no `asOf`, no `--dir`), and no
 * schedule kept a read model fresh, so a decision archived later never reached one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashToken, TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import type { Archive } from '../../src/archive/archive.ts';
import type { AuditFilters } from '../../src/archive/audit-filters.ts';
import { decisionStats, listDecisions, showDecision } from '../../src/archive/queries.ts';
import { summaryOf } from '../../src/audit/read-model/audit-answers.ts';
import { serveReadModel, type ServedReadModel } from '../../src/audit/read-model/served-model.ts';
import { installReadModelSchedule } from '../../src/consumers/read-model-schedule.ts';
import { fakeDigest, makeDecision } from '../integration/archive/make-records.ts';
import { runSlsaGate } from '../helpers/cli-process.ts';
import { startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

const N = 240;
const BUILDERS = ['https://builder.example/a', 'https://builder.example/b', 'https://builder.example/c'];
const APPROVERS = ['alice@acme.example', 'bob@acme.example'];
const reader = 'r'.repeat(64);

let h: PublishHarness;
let archive: Archive;
let dir: string;
let served: ServedReadModel;
let server: Server;
let base: string;
let scheduleId: string;
const prefix = uniqueName('serve');

/**
 * Decision i: decided on day 1 + i % 6 of March 2026 at minute i; FAILED (BUILDER_UNTRUSTED or
 * SOURCE_MISMATCH) every third, NEEDS_APPROVAL with an approval every fifth of the rest,
 * PASSED otherwise; built by builder i % 3.
 */
async function writeDecision(i: number, decidedAt?: string): Promise<string> {
  const failed = i % 3 === 0;
  const needsApproval = !failed && i % 5 === 0;
  const code = i % 2 === 0 ? 'BUILDER_UNTRUSTED' : 'SOURCE_MISMATCH';
  const input = makeDecision(`${prefix}-${i}`, {
    outcome: failed ? 'FAILED' : needsApproval ? 'NEEDS_APPROVAL' : 'PASSED',
    checks: failed
      ? [{ id: code === 'BUILDER_UNTRUSTED' ? 'builder' : 'source', result: 'FAIL', code, reason: 'no' }]
      : [{ id: 'builder', result: 'PASS', reason: 'ok', ...(needsApproval ? { needsApproval: true } : {}) }],
    builder: { id: BUILDERS[i % 3]!, version: `v${i % 2}` },
    artifact: { repository: 'reg/serve/app', tag: `v${i}`, digest: fakeDigest(`${prefix}-artifact-${i}`) },
    decidedAt: decidedAt ?? new Date(Date.UTC(2026, 2, 1 + (i % 6), 0, i)).toISOString(),
  });
  await archive.recordDecision(input);
  if (failed) await archive.transition(input.decisionId, 'decided', 'denied', 'slsa-gate');
  if (needsApproval) {
    await archive.transition(input.decisionId, 'decided', 'awaiting-approval');
    const approver = APPROVERS[i % 2]!;
    await archive.recordApproval(input.decisionId, {
      approver,
      verdict: 'approve',
      reason: 'fine',
      at: input.decidedAt,
      verified: true,
    });
    await archive.transition(input.decisionId, 'awaiting-approval', 'approved', approver);
  }
  return input.decisionId;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${reader}` } });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

interface ListAnswer {
  items: Array<{ _id: string }>;
  nextCursor?: string;
  asOf: string;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-serving-read-model-'));
  // The worker exports into the operator's SLSA_GATE_READ_MODEL; the API reads the same directory.
  h = await startPublishHarness({}, { SLSA_GATE_READ_MODEL: dir });
  archive = h.deps.archive;
  for (let i = 0; i < N; i++) await writeDecision(i);
  served = serveReadModel(dir, { pollMs: 500 });
  server = createApiServer({
    archive,
    tokens: new TokenVerifier({
      tokens: [{ name: 'auditor', sha256: hashToken(reader), scopes: ['audit:read'] }],
    }),
    readModel: { served, queries: [] },
    log: () => {},
  });
  base = (await listenApi(server, 0)).url;
});

after(async () => {
  if (scheduleId)
    await h.client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  served?.close();
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Polls the API until the read model holds `count` decisions of the generated repository. */
async function waitForDecisions(count: number, what: string): Promise<void> {
  // Generous: the machine is shared; this bounds a hang, it measures nothing.
  const deadline = Date.now() + 5 * 60_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/api/v1/stats?repository=reg%2Fserve%2Fapp`, {
      headers: { Authorization: `Bearer ${reader}` },
    });
    const text = await res.text();
    if (res.status === 200 && (JSON.parse(text) as { total: number }).total === count) return;
    last = `${res.status} ${text}`;
    await sleep(500);
  }
  assert.fail(`${what}: the read model did not reach ${count} decisions; last answer ${last}`);
}

test('before any export the API says READ_MODEL_MISSING, never an empty list', async () => {
  const res = await fetch(`${base}/api/v1/decisions`, { headers: { Authorization: `Bearer ${reader}` } });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '5');
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'READ_MODEL_MISSING');
  assert.ok(!body.error.message.includes(dir), 'the answer does not show the server file system');
});

test('the export schedule fills the read model; API, web view and CLI answer the named queries as the store does', async () => {
  ({ scheduleId } = await installReadModelSchedule(h.client, {
    taskQueue: h.config.taskQueue,
    every: '2s',
    scheduleId: `${prefix}-export`,
  }));
  await waitForDecisions(N, 'the first scheduled export');

  const day = (d: number) => `2026-03-0${d}T00:00:00.000Z`;
  const queries: Array<[string, AuditFilters]> = [
    ['newest page', {}],
    ['by outcome', { outcome: 'FAILED' }],
    ['by builder', { builderId: BUILDERS[1]! }],
    ['by approver', { approver: APPROVERS[0]! }],
    ['by failing code', { failingCode: 'SOURCE_MISMATCH' }],
    ['day range', { since: day(2), until: day(4) }],
  ];
  for (const [name, filters] of queries) {
    const scoped: AuditFilters = { repository: 'reg/serve/app', ...filters };
    const query = new URLSearchParams(
      Object.entries(scoped).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    const store = await listDecisions(archive, scoped, { limit: 50 });
    const expected = {
      items: store.items.map(summaryOf),
      ...(store.nextCursor !== undefined ? { nextCursor: store.nextCursor } : {}),
    };
    assert.ok(expected.items.length > 0, `${name}: the generated archive has matches`);

    const { asOf, ...api } = await getJson<ListAnswer>(`/api/v1/decisions?${query}&limit=50`);
    assert.deepEqual(api, expected, `${name}: API`);
    assert.match(asOf, /^\d{4}-\d{2}-\d{2}T/, `${name}: API asOf`);

    const page = await fetch(`${base}/?${query}&limit=50`, {
      headers: { Authorization: `Bearer ${reader}` },
    });
    assert.equal(page.status, 200, name);
    const html = await page.text();
    const shown = [...html.matchAll(/href="\/decisions\/([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));
    assert.deepEqual(
      shown,
      expected.items.map((d) => d._id),
      `${name}: web view`,
    );
    assert.match(
      html,
      /From the read model as exported at \d{4}-\d{2}-\d{2}T/,
      `${name}: web view freshness`,
    );

    const flags = Object.entries(scoped).flatMap(([k, v]) => [`--${cliFlag(k)}`, String(v)]);
    const cli = await runSlsaGate(cliEnv(), 'audit', 'list', '--json', '--limit', '50', ...flags);
    assert.equal(cli.code, 0, `${name}: ${cli.err}`);
    const { asOf: cliAsOf, ...fromCli } = JSON.parse(cli.out) as ListAnswer;
    assert.deepEqual(fromCli, expected, `${name}: CLI`);
    assert.match(cliAsOf, /^\d{4}-\d{2}-\d{2}T/, `${name}: CLI asOf`);
  }

  for (const filters of [{}, { since: day(2), until: day(4) }] as AuditFilters[]) {
    const scoped: AuditFilters = { repository: 'reg/serve/app', ...filters };
    const query = new URLSearchParams(
      Object.entries(scoped).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    const expected = await decisionStats(archive, scoped);
    const { asOf, ...api } = await getJson<Record<string, unknown>>(`/api/v1/stats?${query}`);
    assert.deepEqual(api, expected, `stats ${query}: API`);
    assert.equal(typeof asOf, 'string');
    const flags = Object.entries(scoped).flatMap(([k, v]) => [`--${cliFlag(k)}`, String(v)]);
    const cli = await runSlsaGate(cliEnv(), 'audit', 'stats', '--json', ...flags);
    assert.equal(cli.code, 0, cli.err);
    const { asOf: _cliAsOf, ...fromCli } = JSON.parse(cli.out) as Record<string, unknown>;
    assert.deepEqual(fromCli, expected, `stats ${query}: CLI`);
  }

  // One decision is read by key from the store, the source of truth (raw bytes, timings).
  const one = `publish-${prefix}-7/run-1`;
  const detail = await getJson<{ decision: { _id: string; status: string } }>(
    `/api/v1/decisions/${encodeURIComponent(one)}`,
  );
  assert.equal(detail.decision._id, one);
  assert.equal(detail.decision.status, (await showDecision(archive, one))?.decision.status);
});

test('a decision archived after the schedule started reaches the API without a manual export', async () => {
  assert.ok(scheduleId, 'the schedule runs (previous test)');
  const late = await writeDecision(N, new Date().toISOString());
  await waitForDecisions(N + 1, 'the decision archived later');
  const newest = await getJson<ListAnswer>('/api/v1/decisions?repository=reg%2Fserve%2Fapp&limit=1');
  assert.deepEqual(
    newest.items.map((d) => d._id),
    [late],
  );
});

/** The CLI flag of a filter (FILTER_OPTIONS in src/cli/commands/audit.ts). */
function cliFlag(filter: string): string {
  const flags: Record<string, string> = { builderId: 'builder', failingCode: 'failing-code' };
  return flags[filter] ?? filter;
}

function cliEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: h.config.database,
    SLSA_GATE_READ_MODEL: dir,
  };
}

/**
 * The web view in headless Chromium (Debian's, driven by playwright-core): log in with a token,
 * filter the list, open a decision, download its evidence. Decisions: one from a real publish
 * workflow (publish harness) plus generated ones, one with an attacker-chosen builder id.
 * Screenshots go to test-results/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { hashToken, TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import { exportParquet } from '../../src/audit/read-model/export-parquet.ts';
import { serveReadModel, type ServedReadModel } from '../../src/audit/read-model/served-model.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import type { PublishResult } from '../../src/workflows/contract.ts';
import {
  attestationDigest,
  fakeDigest,
  makeAttestation,
  makeDecision,
} from '../integration/archive/make-records.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const CHROMIUM = '/usr/bin/chromium';
const resultsDir = join(import.meta.dirname, '../../test-results');
const hostileBuilder = `https://evil.example/<script>alert(1)</script>"><img src=x onerror=alert(2)>`;
const token = randomBytes(32).toString('hex');

let h: PublishHarness;
let real: PublishResult;
let server: Server;
let base: string;
let context: BrowserContext;
let page: Page;
let profile: string;
let readModelDir: string;
let served: ServedReadModel;
const dialogs: string[] = [];
const cspErrors: string[] = [];

before(async () => {
  h = await startPublishHarness();
  const staging = `staging/${uniqueName('web')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  real = await h.publish(
    requestFor(h, staging, built.digest, { tag: 'v1.0.0', requester: 'carol@acme.example' }),
  );
  assert.equal(real.status, 'PUBLISHED', `${real.code}: ${real.reason}`);

  const archive = h.deps.archive;
  // Days before today (UTC), so the chart's window always holds them and the real publish.
  const midnight = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const day = (daysAgo: number, hour: number) =>
    new Date(midnight - daysAgo * 86_400_000 + hour * 3_600_000).toISOString();
  const inputs = [
    makeDecision('web-ok-1', { decidedAt: day(6, 9) }),
    makeDecision('web-ok-2', { decidedAt: day(5, 9) }),
    makeDecision('web-denied', {
      outcome: 'FAILED',
      builder: { id: hostileBuilder },
      checks: [
        { id: 'subject', result: 'PASS', reason: 'artifact digest is a subject' },
        {
          id: 'builder',
          result: 'FAIL',
          code: 'BUILDER_UNTRUSTED',
          reason: `builder ${hostileBuilder} is not in the trust map`,
          evidence: [attestationDigest('web-denied')],
        },
      ],
      artifact: {
        repository: '127.0.0.1:5000/release/web',
        tag: 'v6.6.6',
        digest: fakeDigest('artifact-web-denied'),
      },
      decidedAt: day(5, 12),
    }),
    makeDecision('web-approval', {
      outcome: 'NEEDS_APPROVAL',
      checks: [{ id: 'dependencies', result: 'PASS', reason: 'exception', needsApproval: true }],
      decidedAt: day(4, 9),
    }),
  ];
  for (const input of inputs) {
    await archive.storeAttestations([makeAttestation(input.workflowId.replace('publish-', ''))]);
    await archive.recordDecision(input);
  }
  await archive.transition(inputs[2]!.decisionId, 'decided', 'denied', 'slsa-gate');
  await archive.transition(inputs[3]!.decisionId, 'decided', 'awaiting-approval');
  await archive.recordApproval(inputs[3]!.decisionId, {
    approver: 'alice@acme.example',
    verdict: 'approve',
    reason: 'vendored dependency reviewed',
    at: day(4, 10),
    verified: true,
  });
  await archive.transition(inputs[3]!.decisionId, 'awaiting-approval', 'approved', 'alice@acme.example');

  const tokens = new TokenVerifier({
    tokens: [{ name: 'auditor', sha256: hashToken(token), scopes: ['audit:read'] }],
  });
  // The list and the chart read the read model: the archive above reaches it by an export run.
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-web-read-model-'));
  await exportParquet(archive, readModelDir);
  served = serveReadModel(readModelDir);
  server = createApiServer({ archive, tokens, readModel: { served, queries: [] }, log: () => {} });
  base = (await listenApi(server, 0)).url;

  mkdirSync(resultsDir, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'slsa-gate-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  served?.close();
  if (readModelDir) rmSync(readModelDir, { recursive: true, force: true });
  await h?.close();
});

test('log in, filter the list, open a decision, download its evidence', async () => {
  // Not logged in: the login form, with 401.
  const first = await page.goto(`${base}/`);
  assert.equal(first?.status(), 401);
  await page.getByLabel('Token').fill('not-the-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  assert.match((await page.getByRole('alert').textContent()) ?? '', /not valid/);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Decisions');
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'slsa_gate_token');
  assert.ok(session, 'the session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');

  // The list: five decisions (four generated, one real), the chart with one bar per day.
  assert.equal(await page.locator('table.decisions tbody tr').count(), 5);
  assert.equal(
    await page.locator('svg.chart g.day').count(),
    7,
    'six days ago to today, empty days included',
  );
  assert.equal(await page.locator('svg.chart g.day:has(rect)').count(), 4, 'four days with decisions');
  assert.equal(await page.locator('svg.chart g.day rect[fill="#c62828"]').count(), 1, 'one FAILED segment');
  assert.match((await page.locator('section.summary').textContent()) ?? '', /5 matching decision/);
  await page.screenshot({ path: join(resultsDir, 'web-view-list.png'), fullPage: true });

  // Filter: outcome FAILED.
  await page.locator('select[name=outcome]').selectOption('FAILED');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/[?&]outcome=FAILED/);
  const rows = page.locator('table.decisions tbody tr');
  assert.equal(await rows.count(), 1);
  const rowText = (await rows.first().textContent()) ?? '';
  assert.ok(rowText.includes(hostileBuilder), 'the builder id is shown as text, not markup');
  assert.equal(
    await page.locator('select[name=outcome]').inputValue(),
    'FAILED',
    'the form keeps the filter',
  );

  // Detail page of the denied decision.
  await rows.first().getByRole('link', { name: 'details' }).click();
  await page.waitForURL(/\/decisions\//);
  assert.match((await page.getByRole('heading', { level: 1 }).textContent()) ?? '', /publish-web-denied/);
  const checks = (await page.locator('table').nth(1).textContent()) ?? '';
  assert.match(checks, /BUILDER_UNTRUSTED/);
  assert.ok(checks.includes(hostileBuilder));

  // Its evidence downloads as the archived bytes.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('a.download').first().click(),
  ]);
  const bytes = readFileSync((await download.path())!);
  assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, attestationDigest('web-denied'));

  // Back to the list, filter by status, open the real published decision.
  await page.getByRole('link', { name: '← All decisions' }).click();
  await page.locator('select[name=status]').selectOption('published');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/[?&]status=published/);
  assert.equal(await page.locator('table.decisions tbody tr').count(), 1);
  await page.locator('table.decisions tbody tr').first().getByRole('link', { name: 'details' }).click();
  await page.waitForURL(/\/decisions\//);
  const body = (await page.locator('main').textContent()) ?? '';
  assert.ok(body.includes(real.decisionId), 'the real decision');
  assert.ok(body.includes('carol@acme.example'), 'its requester');
  assert.match(body, /build-level\s*PASS/);
  assert.match(body, /issued/, 'the issued VSA is listed');
  assert.ok((await page.locator('a.download').count()) >= 2, 'attestation and VSA are downloadable');
  await page.screenshot({ path: join(resultsDir, 'web-view-detail.png'), fullPage: true });

  // The approved decision's approval trail.
  await page.goto(`${base}/?approver=alice%40acme.example`);
  await page.locator('table.decisions tbody tr').first().getByRole('link', { name: 'details' }).click();
  await page.waitForURL(/\/decisions\//);
  assert.match(
    (await page.locator('main').textContent()) ?? '',
    /alice@acme\.example\s*approve\s*verified\s*vendored dependency reviewed/,
  );

  // Log out: the cookie is gone and the pages ask for the token again.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(`${base}/login`);
  const again = await page.goto(`${base}/`);
  assert.equal(again?.status(), 401);

  assert.deepEqual(dialogs, [], 'no injected script ran');
  assert.deepEqual(cspErrors, [], 'nothing on the pages needed more than the CSP allows');
});

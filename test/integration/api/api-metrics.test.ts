/**
 * `slsa-gate api serve` with SLSA_GATE_METRICS_LISTEN, as a process against the real store:
 * `/metrics` answers on its own listener (never on the public port), counts requests by route
 * template and status, and reads the approvals waiting from the archive.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hashToken } from '../../../src/api/api-tokens.ts';
import { type Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { parseExposition } from '../../helpers/prometheus-text.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { makeDecision } from '../archive/make-records.ts';

const cli = join(import.meta.dirname, '../../../bin/slsa-gate.js');
const db = uniqueName('api_metrics').replaceAll('-', '_');
const token = randomBytes(32).toString('hex');
let archive: Archive;
let child: ChildProcessByStdio<null, Readable, Readable>;
let api: string;
let metrics: string;
let readModelDir: string;

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, db);
  for (const label of ['wait-1', 'wait-2', 'done']) {
    await archive.recordDecision(makeDecision(label, { outcome: 'NEEDS_APPROVAL' }));
    await archive.transition(`publish-${label}/run-1`, 'decided', 'awaiting-approval');
  }
  await archive.transition('publish-done/run-1', 'awaiting-approval', 'expired');
  // The list answers from the read model the export writes.
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-api-metrics-read-model-'));
  await exportParquet(archive, readModelDir);
  const serve = ['api', 'serve', '--port', '0', '--db', db, '--read-model', readModelDir];
  child = spawn(process.execPath, [cli, ...serve], {
    env: {
      ...process.env,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_API_TOKENS: JSON.stringify({
        tokens: [{ name: 'auditor', sha256: hashToken(token), scopes: ['audit:read', 'admin'] }],
      }),
      SLSA_GATE_METRICS_LISTEN: '127.0.0.1:0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  [api, metrics] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const listening = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const served = /metrics on (http:\/\/\S+)/.exec(out)?.[1];
      if (listening && served) resolve([listening, served]);
    });
    child.once('exit', (code) => reject(new Error(`api serve exited with ${code}: ${out}`)));
  });
});

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  if (readModelDir) rmSync(readModelDir, { recursive: true, force: true });
  if (archive) await databaseOf(archive).dropDatabase();
  await archive?.close();
});

const auth = { Authorization: `Bearer ${token}` };

test('the public port does not serve /metrics, whatever the credential', async () => {
  assert.equal((await fetch(`${api}/metrics`)).status, 401);
  assert.equal((await fetch(`${api}/metrics`, { headers: auth })).status, 404);
});

test('requests are counted by route template, method and status; a path never becomes a label', async () => {
  assert.equal((await fetch(`${api}/api/v1/decisions`, { headers: auth })).status, 200);
  assert.equal((await fetch(`${api}/api/v1/decisions`)).status, 401);
  // Attacker material: a path made to inject a label value and a series of its own.
  const injected = encodeURIComponent('x"} 1\nslsa_gate_injected_total 1 #');
  assert.equal((await fetch(`${api}/api/v1/decisions/${injected}`, { headers: auth })).status, 404);
  const response = await fetch(metrics);
  assert.equal(response.status, 200);
  const text = await response.text();
  const scraped = parseExposition(text);
  const requests = (labels: Record<string, string>) => scraped.value('slsa_gate_api_requests_total', labels);
  assert.equal(requests({ route: '/api/v1/decisions', method: 'GET', status: '200' }), 1);
  assert.equal(requests({ route: '/api/v1/decisions', method: 'GET', status: '401' }), 1);
  assert.equal(requests({ route: '/api/v1/decisions/:ref', method: 'GET', status: '404' }), 1);
  assert.ok(requests({ route: 'other', method: 'GET', status: '404' })! >= 1, 'the public /metrics');
  assert.ok(!text.includes('injected'));
  assert.equal(
    scraped.value('slsa_gate_api_request_duration_seconds_count', { route: '/api/v1/decisions' }),
    2,
  );
});

test('approvals waiting and the age of the oldest are read from the archive', async () => {
  const scraped = parseExposition(await (await fetch(metrics)).text());
  assert.equal(scraped.value('slsa_gate_approvals_waiting'), 2);
  assert.ok(scraped.value('slsa_gate_approvals_oldest_wait_seconds')! >= 0);
  await archive.transition('publish-wait-1/run-1', 'awaiting-approval', 'expired');
  const again = parseExposition(await (await fetch(metrics)).text());
  assert.equal(again.value('slsa_gate_approvals_waiting'), 1);
});

test('the metrics listener serves /metrics only', async () => {
  assert.equal(
    (await fetch(metrics.replace(/\/metrics$/, '/api/v1/decisions'), { headers: auth })).status,
    404,
  );
  assert.equal((await fetch(metrics, { method: 'POST' })).status, 404);
});

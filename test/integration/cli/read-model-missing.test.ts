/**
 * No read model, no answer (docs/audit.md#no-read-model-no-answer): a read-model command aimed
 * at a directory that does not exist, is not a directory, or holds no export fails with
 * READ_MODEL_MISSING naming the directory and the command that makes one, through the real CLI
 * process, with the exit code of docs/ci.md#exit-codes. Before, DuckDB opened empty views and
 * `audit sql --dir /nonexistent` answered "0 row(s)" with exit 0: an auditor read "nothing
 * happened" off a typo. The API refuses to start on a path that cannot hold a read model (none
 * there, a file); on an empty directory it starts and answers 503 READ_MODEL_MISSING with
 * Retry-After until the first export, then serves it; it answers a saved query with 503
 * READ_MODEL_MISSING if the directory goes away while it runs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashToken, TokenVerifier } from '../../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../../src/api/server.ts';
import { databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { DEFAULT_SAVED_QUERIES } from '../../../src/audit/read-model/saved-queries.ts';
import { serveReadModel } from '../../../src/audit/read-model/served-model.ts';
import { EXIT } from '../../../src/cli/exit-codes.ts';
import { makeDecision } from '../archive/make-records.ts';
import { hasStackTrace, runCli } from '../../helpers/cli-process.ts';
import { waitForOutput } from '../../helpers/process-output.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const cli = join(import.meta.dirname, '../../../bin/slsa-gate.js');
const work = mkdtempSync(join(tmpdir(), 'slsa-gate-read-model-missing-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The three ways a named read model is not there. */
function notThere(): Record<string, string> {
  const empty = join(work, 'empty');
  mkdirSync(empty, { recursive: true });
  const file = join(work, 'a-file');
  writeFileSync(file, 'not a directory\n');
  return {
    'no such directory': join(work, 'nonexistent'),
    'not a directory': file,
    'nothing exported': empty,
  };
}

const missing = (dir: string) =>
  new RegExp(
    `^slsa-gate: READ_MODEL_MISSING: no read model at ${dir.replaceAll('.', '\\.')}: .*; make it with: slsa-gate audit export --format parquet --out ${dir.replaceAll('.', '\\.')}$`,
    'm',
  );

test('audit sql and audit impact refuse a read model that is not there: READ_MODEL_MISSING, exit 2', async () => {
  for (const [what, dir] of Object.entries(notThere())) {
    for (const args of [
      ['audit', 'sql', 'SELECT count(*) AS n FROM decisions', '--dir', dir],
      ['audit', 'impact', '--builder', 'https://builder.example/b', '--dir', dir, '--json'],
    ]) {
      const run = await runCli(args);
      const label = `${args[1]}, ${what}: ${run.stdout}${run.stderr}`;
      assert.equal(run.exit, EXIT.INPUT, label);
      assert.match(run.stderr, missing(dir), label);
      assert.equal(run.stdout, '', label);
      assert.equal(hasStackTrace(run), false, label);
    }
  }
  // The directory from the environment is held to the same.
  const dir = join(work, 'nonexistent');
  const fromEnv = await runCli(['audit', 'sql', 'SELECT 1'], { env: { SLSA_GATE_READ_MODEL: dir } });
  assert.equal(fromEnv.exit, EXIT.INPUT, fromEnv.stderr);
  assert.match(fromEnv.stderr, missing(dir));
});

test('an export of an empty archive is a read model: it answers, with no rows', async () => {
  const dir = join(work, 'exported-empty');
  await exportParquet({ databaseName: 'empty', exportBatches: async function* () {} }, dir);
  const run = await runCli(['audit', 'sql', 'SELECT count(*) AS n FROM decisions', '--dir', dir, '--json']);
  assert.equal(run.exit, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [{ n: '0' }]);
});

test('api serve refuses to start on a read model path it can never use: READ_MODEL_MISSING, exit 2', async () => {
  const tokens = JSON.stringify({
    tokens: [{ name: 'auditor', sha256: hashToken(randomBytes(32).toString('hex')), scopes: ['audit:read'] }],
  });
  const { 'nothing exported': _waiting, ...unusable } = notThere();
  for (const [what, dir] of Object.entries(unusable)) {
    const run = await runCli(['api', 'serve', '--port', '0', '--read-model', dir], {
      env: { SLSA_GATE_API_TOKENS: tokens, SLSA_GATE_API_TOKENS_FILE: '' },
    });
    assert.equal(run.exit, EXIT.INPUT, `${what}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, missing(dir), what);
    assert.doesNotMatch(run.stdout, /listening/, what);
  }
});

test('api serve on a directory with no export yet starts, answers 503 READ_MODEL_MISSING with Retry-After, then serves the first export', async () => {
  ensureServices();
  const db = uniqueName('read_model_waiting').replaceAll('-', '_');
  const archive = await openArchive(services.mongoUri, db);
  await archive.recordDecision(makeDecision(uniqueName('waiting')));
  // A fresh install: the shared volume is there and empty; the first export is yet to run.
  const dir = join(work, 'waiting');
  mkdirSync(dir, { recursive: true });
  const reader = randomBytes(32).toString('hex');
  const tokens = JSON.stringify({
    tokens: [{ name: 'auditor', sha256: hashToken(reader), scopes: ['audit:read'] }],
  });
  const child = spawn(
    process.execPath,
    [cli, 'api', 'serve', '--port', '0', '--db', db, '--read-model', dir],
    {
      env: {
        ...process.env,
        MONGODB_URI: services.mongoUri,
        SLSA_GATE_API_TOKENS: tokens,
        SLSA_GATE_API_TOKENS_FILE: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    // Before: the process exited with READ_MODEL_MISSING, and a pod restarted until an export existed.
    const url = (await waitForOutput(child, /listening on (http:\/\/\S+)/))[1]!;
    const list = () => fetch(`${url}/api/v1/decisions`, { headers: { Authorization: `Bearer ${reader}` } });
    const waiting = await list();
    const body = await waiting.text();
    assert.equal(waiting.status, 503, body);
    assert.equal(waiting.headers.get('retry-after'), '5');
    assert.match(body, /READ_MODEL_MISSING/);
    assert.ok(!body.includes(dir), 'the answer does not show the server file system');

    const exported = await exportParquet(archive, dir);
    // The served model checks the directory every second: the first answer after it looked is 200.
    let res = await list();
    for (let attempt = 0; res.status === 503 && attempt < 600; attempt++) {
      await res.body?.cancel();
      await sleep(200);
      res = await list();
    }
    const served = (await res.json()) as { items: unknown[]; asOf: string };
    assert.equal(res.status, 200, JSON.stringify(served));
    assert.equal(served.items.length, 1);
    assert.equal(served.asOf, exported.state.exportedAt);
  } finally {
    child.kill('SIGTERM');
    await databaseOf(archive).dropDatabase();
    await archive.close();
  }
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, stderr);
});

test("a saved query on a read model gone since the server started is 503 READ_MODEL_MISSING, the directory only in the server's log", async () => {
  ensureServices();
  const archive = await openArchive(services.mongoUri, uniqueName('read_model_missing').replaceAll('-', '_'));
  const dir = join(work, 'gone');
  await exportParquet(archive, dir);
  const reader = randomBytes(32).toString('hex');
  const logged: string[] = [];
  const served = serveReadModel(dir);
  const server = createApiServer({
    archive,
    tokens: new TokenVerifier({
      tokens: [{ name: 'auditor', sha256: hashToken(reader), scopes: ['audit:read'] }],
    }),
    readModel: { served, queries: DEFAULT_SAVED_QUERIES },
    log: (line) => logged.push(line),
  });
  const base = (await listenApi(server, 0)).url;
  try {
    const get = () =>
      fetch(`${base}/queries/releases-by-builder`, { headers: { Authorization: `Bearer ${reader}` } });
    assert.equal((await get()).status, 200, 'the exported model answers');
    rmSync(dir, { recursive: true, force: true });
    const res = await get();
    const body = await res.text();
    // Before: 200 with an empty table, as if nothing had ever been published.
    assert.equal(res.status, 503, body);
    assert.match(body, /No read model/);
    assert.match(body, /no read model has been exported for this server yet/);
    assert.ok(!body.includes(dir), 'the answer does not show the server file system');
    const line = logged.find((l) => l.includes(`no read model at ${dir}: no such directory`));
    assert.ok(
      line?.endsWith(`make it with: slsa-gate audit export --format parquet --out ${dir}`),
      logged.join('\n'),
    );
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    served.close();
    await databaseOf(archive).dropDatabase();
    await archive.close();
  }
});

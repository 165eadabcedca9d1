/** `slsa-gate api serve` and `api hash-token` as processes, against the real store (own database, dropped). */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { makeAttestation, makeDecision } from '../archive/make-records.ts';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../../bin/slsa-gate.js');
const db = uniqueName('api_cli').replaceAll('-', '_');
let archive: Archive;
let readModelDir: string;

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, db);
  await archive.storeAttestations([makeAttestation('cli1')]);
  await archive.recordDecision(makeDecision('cli1'));
  // The list answers from the read model the export writes.
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-api-cli-read-model-'));
  await exportParquet(archive, readModelDir);
});

after(async () => {
  if (readModelDir) rmSync(readModelDir, { recursive: true, force: true });
  if (archive) await databaseOf(archive).dropDatabase();
  await archive?.close();
});

async function hashEntry(token: string): Promise<string> {
  const child = execFile(process.execPath, [cli, 'api', 'hash-token', '--name', 'ci']);
  child.stdin!.end(`${token}\n`);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
  assert.ok(!out.includes(token), 'the token itself is never printed');
  return out.trim();
}

test('hash-token prints an entry; serve answers with it, 401 without it, and stops on SIGTERM', async () => {
  const token = randomBytes(32).toString('hex');
  const entry = JSON.parse(await hashEntry(token)) as { name: string; sha256: string; scopes: string[] };
  assert.equal(entry.name, 'ci');
  assert.match(entry.sha256, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(entry.scopes, ['audit:read']);

  const serve = ['api', 'serve', '--port', '0', '--db', db, '--read-model', readModelDir];
  const child = spawn(process.execPath, [cli, ...serve], {
    env: {
      ...process.env,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_API_TOKENS: JSON.stringify({ tokens: [entry] }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`api serve exited with ${code}`)));
    });
    const ok = await fetch(`${url}/api/v1/decisions`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { items: Array<{ _id: string }> };
    assert.deepEqual(
      body.items.map((d) => d._id),
      ['publish-cli1/run-1'],
    );
    assert.equal((await fetch(`${url}/api/v1/decisions`)).status, 401);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
});

test('serve refuses to start without tokens (CONFIG_INVALID, exit 2), and hash-token refuses a short token', async () => {
  const env = { ...process.env, SLSA_GATE_API_TOKENS: '', SLSA_GATE_API_TOKENS_FILE: '' };
  const failed = await run(process.execPath, [cli, 'api', 'serve', '--port', '0', '--db', db], { env }).then(
    () => assert.fail('serve without tokens must fail'),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /CONFIG_INVALID: no API tokens/);

  const child = execFile(process.execPath, [cli, 'api', 'hash-token']);
  child.stdin!.end('short\n');
  const [exit] = (await once(child, 'exit')) as [number];
  assert.equal(exit, 2);
});

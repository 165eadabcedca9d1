import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Binary } from 'mongodb';
import { type Archive, collectionsOf, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { sha256Digest } from '../../../src/archive/digest.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, makeAttestation, makeDecision } from './make-records.ts';

const cli = fileURLToPath(new URL('../../../bin/slsa-gate.js', import.meta.url));
const dbName = uniqueName('audit_cli').replaceAll('-', '_');
const policy = 'version: 1\n';
const passed = makeDecision('cli-1', {
  policy: { digest: sha256Digest(policy) },
  decidedAt: '2026-04-01T10:00:00Z',
});
const failed = makeDecision('cli-2', {
  outcome: 'FAILED',
  checks: [
    { id: 'builder', result: 'FAIL', code: 'BUILDER_UNTRUSTED', reason: 'unknown, "quoted", builder' },
  ],
  policy: { digest: sha256Digest(policy) },
  decidedAt: '2026-04-02T10:00:00Z',
});

let archive: Archive;
let readModelDir: string;
before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, dbName);
  await archive.storePolicy(sha256Digest(policy), policy);
  await archive.storeAttestations([makeAttestation('cli-1'), makeAttestation('cli-2')]);
  await archive.recordDecision(passed);
  await archive.recordDecision(failed);
  await archive.markPublished(passed.decisionId, {
    repository: '127.0.0.1:5000/release/cli',
    digest: passed.artifact.digest,
    at: '2026-04-01T10:05:00.000Z',
  });
  // `list` and `stats` answer from the read model the export writes (SLSA_GATE_READ_MODEL).
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-audit-cli-read-model-'));
  await exportParquet(archive, readModelDir);
});
after(async () => {
  rmSync(readModelDir, { recursive: true, force: true });
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [cli, 'audit', ...args, '--db', dbName],
      {
        env: {
          ...process.env,
          MONGODB_URI: services.mongoUri,
          TEMPORAL_UI_URL: 'http://ui.example',
          SLSA_GATE_READ_MODEL: readModelDir,
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('audit list: table, --json with filters, --jsonl, --csv', async () => {
  const tableOut = await run('list');
  assert.equal(tableOut.code, 0, tableOut.stderr);
  assert.match(tableOut.stdout, /2 decision\(s\)/);

  const json = await run('list', '--outcome', 'FAILED', '--json');
  assert.deepEqual(
    (JSON.parse(json.stdout) as { items: Array<{ _id: string }> }).items.map((d) => d._id),
    [failed.decisionId],
  );

  const jsonl = await run('list', '--jsonl', '--limit', '1', '--all');
  assert.deepEqual(
    jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { _id: string })._id),
    [failed.decisionId, passed.decisionId],
  );

  const csv = await run('list', '--csv', '--failing-code', 'BUILDER_UNTRUSTED');
  const lines = csv.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^decisionId,decidedAt,outcome,status,/);
  assert.ok(lines[1]!.startsWith(`${failed.decisionId},2026-04-02T10:00:00.000Z,FAILED,decided,`));
  // Where a published decision went: the publishedTo column, from the read model's publications.
  const all = await run('list', '--csv');
  const [header, ...rows] = all.stdout.trim().split('\n');
  const publishedTo = header!.split(',').indexOf('publishedTo');
  assert.ok(publishedTo > 0, header);
  const row = rows.find((r) => r.startsWith(`${passed.decisionId},`));
  assert.equal(row?.split(',')[publishedTo], '127.0.0.1:5000/release/cli', row);
  assert.equal(rows.find((r) => r.startsWith(`${failed.decisionId},`))?.split(',')[publishedTo], '');

  // How fresh: `asOf` in JSON, a line on stderr; the store only when asked, with the same items.
  const asOf = (JSON.parse(json.stdout) as { asOf: string }).asOf;
  assert.match(asOf, /^\d{4}-\d{2}-\d{2}T/);
  assert.match(tableOut.stderr, new RegExp(`read model as of ${asOf}`));
  const fromStore = await run('list', '--from-store', '--json');
  const fromModel = await run('list', '--json');
  assert.deepEqual(
    (JSON.parse(fromStore.stdout) as { items: unknown[] }).items,
    (JSON.parse(fromModel.stdout) as { items: unknown[] }).items,
  );
});

test('audit list rejects a bad filter with the usage exit code', async () => {
  const out = await run('list', '--since', 'yesterday');
  assert.equal(out.code, 2);
  assert.match(out.stderr, /INPUT_INVALID/);
});

test('audit list and export read a date as the start of that UTC day, --until exclusive', async () => {
  // Before: `--since 2026-04-02` was INPUT_INVALID here while `audit impact` accepted it.
  const ids = async (...args: string[]) => {
    const out = await run('list', '--json', ...args);
    assert.equal(out.code, 0, out.stderr);
    return (JSON.parse(out.stdout) as { items: Array<{ _id: string }> }).items.map((d) => d._id);
  };
  assert.deepEqual(await ids('--since', '2026-04-02'), [failed.decisionId]);
  assert.deepEqual(await ids('--until', '2026-04-02'), [passed.decisionId]);
  assert.deepEqual(await ids('--since', '2026-04-01', '--until', '2026-04-02'), [passed.decisionId]);
  // 12:00 at +02:00 is 10:00Z, the moment the failed decision was taken (inclusive).
  assert.deepEqual(await ids('--since', '2026-04-02T12:00:00+02:00'), [failed.decisionId]);
  assert.deepEqual(await ids('--since', '2026-04-02T12:00:01+02:00'), []);
  const exported = await run('export', '--since', '2026-04-02', '--until', '2026-04-03');
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(
    exported.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { _id: string })._id),
    [failed.decisionId],
  );
});

test('a time bound that is no date or instant is INPUT_INVALID naming the flag and the value', async () => {
  for (const [flag, value] of [
    ['--since', '2026-04-31'],
    ['--until', '2026-04-02T10:00:00'],
  ] as const) {
    const out = await run('list', flag, value);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, new RegExp(`^slsa-gate: INPUT_INVALID: ${flag} "${value}" is not a date`, 'm'));
  }
});

test('audit show: by workflow id, with raw attestations and the Temporal UI link; unknown is NOT_FOUND, exit 2', async () => {
  const out = await run('show', passed.workflowId, '--json');
  assert.equal(out.code, 0, out.stderr);
  const detail = JSON.parse(out.stdout) as {
    decision: { _id: string };
    attestations: Array<{ raw: string }>;
    temporalUi: string;
  };
  assert.equal(detail.decision._id, passed.decisionId);
  assert.equal(sha256Digest(Buffer.from(detail.attestations[0]!.raw, 'base64')), attestationDigest('cli-1'));
  assert.equal(
    detail.temporalUi,
    `http://ui.example/namespaces/slsa-gate/workflows/${passed.workflowId}/run-1`,
  );
  const text = await run('show', passed.decisionId);
  assert.match(text.stdout, /Outcome {4}PASSED/);
  const unknown = await run('show', 'nothing-like-this');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^slsa-gate: NOT_FOUND: no archived decision matches nothing-like-this$/m);
});

test('audit stats and export', async () => {
  const stats = JSON.parse((await run('stats', '--json')).stdout) as { total: number };
  assert.equal(stats.total, 2);
  const exported = await run('export', '--since', '2026-04-02T00:00:00Z', '--until', '2026-04-03T00:00:00Z');
  assert.equal(exported.code, 0, exported.stderr);
  const lines = exported.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal((JSON.parse(lines[0]!) as { _id: string })._id, failed.decisionId);
});

// The generated attestations here are not signed statements: this test is about the digest
// chain; signatures are re-verified on real publishes in test/e2e/audit-signatures.test.ts.
test('audit verify: intact is exit 0; a changed byte is reported with the document id and exit 1', async () => {
  const clean = await run('verify', '--all');
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /^PASSED/m);

  const id = attestationDigest('cli-2');
  const stored = await collectionsOf(archive).attestations.findOne({ _id: id });
  const bytes = Buffer.from(stored!.raw.buffer);
  bytes[0] = bytes[0]! ^ 0x20;
  await collectionsOf(archive).attestations.updateOne({ _id: id }, { $set: { raw: new Binary(bytes) } });

  const all = await run('verify', '--all');
  assert.equal(all.code, 1);
  assert.match(all.stdout, new RegExp(`TAMPERED attestations ${id}`));
  // Scoped to the untouched decision, nothing is wrong.
  assert.equal((await run('verify', passed.decisionId)).code, 0);
  const scoped = await run('verify', failed.workflowId, '--json');
  assert.equal(scoped.code, 1);
  assert.deepEqual(
    (JSON.parse(scoped.stdout) as { problems: Array<{ id: string }> }).problems.map((p) => p.id),
    [id],
  );
});

/**
 * `audit reverify` on the verification pool (src/audit/verify-pool.ts): over a real archive in
 * the store, with attestations signed by a real key, some of them tampered with, a run on
 * worker threads reports exactly what the serial run reports, in the same order; a thread that
 * crashes fails the run with a code; the attestations in hand stay within the pool's window.
 * `audit verify` over the same archive names the flipped bytes and reads no key at all.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Binary } from 'mongodb';
import { type Archive, collectionsOf, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { sha256Digest } from '../../../src/archive/digest.ts';
import { verifyIntegrity } from '../../../src/archive/integrity.ts';
import { reliedOnAttestations } from '../../../src/archive/queries.ts';
import { reverifyArchive, type ReverifyReport } from '../../../src/audit/reverify.ts';
import { createVerifyPool, IN_FLIGHT_PER_JOB } from '../../../src/audit/verify-pool.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { createBuilderKey, demoProvenance, signEnvelope } from '../../../src/demo/demo-builder.ts';
import { readTrustSources } from '../../../src/loaders/trust-material-files.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { fakeDigest, makeDecision } from './make-records.ts';

const cli = fileURLToPath(new URL('../../../bin/slsa-gate.js', import.meta.url));
const crashingWorker = new URL('../../helpers/crashing-verify-worker.ts', import.meta.url);
const dbName = uniqueName('audit_bulk').replaceAll('-', '_');
const COUNT = 30;
const policy = 'version: 1\n';
const key = createBuilderKey();
const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-audit-bulk-'));
const keyFile = join(dir, 'builder.pub');
writeFileSync(keyFile, key.publicKeyPem);
const setup = { trust: readTrustSources({ publicKeys: [{ keyId: key.keyId, pem: key.publicKeyPem }] }) };

let archive: Archive;
let digests: string[];
/** Attestations whose stored bytes had one byte flipped after archiving. */
const flipped: string[] = [];
/** An attestation signed by another key under the builder's key id, archived as it is. */
let forged: string;

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, dbName);
  const envelopes = Array.from({ length: COUNT }, (_, i) =>
    signEnvelope(
      demoProvenance({
        imageName: `127.0.0.1:5000/release/app${i}`,
        digest: fakeDigest(`artifact-bulk-${i}`),
      }),
      key,
    ),
  );
  // Attacker material: the same kind of statement signed by a key the attacker made, stored properly.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  envelopes[17] = signEnvelope(
    demoProvenance({ imageName: '127.0.0.1:5000/release/app17', digest: fakeDigest('artifact-bulk-17') }),
    { ...key, privateKey },
  );
  ({ digests } = await archive.storeAttestations(
    envelopes.map((raw, i) => ({
      raw: Buffer.from(raw).toString('base64'),
      origin: `test/bulk-${i}`,
      fetchedAt: new Date().toISOString(),
    })),
  ));
  forged = digests[17]!;
  await archive.storePolicy(sha256Digest(policy), policy);
  for (const [i, digest] of digests.entries()) {
    await archive.recordDecision(
      makeDecision(`bulk-${i}`, {
        checks: [
          { id: 'subject', result: 'PASS', reason: 'artifact digest is a subject', evidence: [digest] },
        ],
        attestationDigests: [digest],
        policy: { digest: sha256Digest(policy) },
        decidedAt: `2026-04-01T10:00:${String(i).padStart(2, '0')}Z`,
      }),
    );
  }
  // Attacker material: one byte of the stored bytes flipped in place (inside the signed
  // payload of #4, inside the signature of #23), the document id left as it was.
  const attestations = collectionsOf(archive).attestations;
  for (const [i, at] of [
    [4, 200],
    [23, -40],
  ] as const) {
    const digest = digests[i]!;
    const doc = await attestations.findOne({ _id: digest });
    assert.ok(doc);
    const bytes = Buffer.from(doc.raw.buffer);
    const offset = at < 0 ? bytes.length + at : at;
    bytes[offset] = bytes[offset]! ^ 0x01;
    await attestations.updateOne({ _id: digest }, { $set: { raw: new Binary(bytes) } });
    flipped.push(digest);
  }
});

after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

async function verifyWith(jobs: number, script?: URL): Promise<{ report: ReverifyReport; peak: number }> {
  const pool = createVerifyPool(
    { kind: 'archived-signature', setup },
    { jobs, ...(script ? { script } : {}) },
  );
  try {
    const report = await reverifyArchive(archive, {
      pool,
      reliedOn: await reliedOnAttestations(archive),
      checkVsas: false,
    });
    return { report, peak: pool.peakInFlight };
  } finally {
    await pool.close();
  }
}

test('worker threads report the same problems as the serial run, in the same order', async () => {
  const serial = await verifyWith(1);
  const parallel = await verifyWith(2);
  assert.deepEqual(parallel.report, serial.report);
  assert.equal(serial.report.checked.attestations, COUNT);
  // The report names every attestation whose signature does not verify, and only those.
  const named = serial.report.findings.map((f) => f.id).sort();
  assert.deepEqual(named, [...flipped, forged].sort());
  const forgedFindings = serial.report.findings.filter((f) => f.id === forged);
  assert.deepEqual(
    forgedFindings.map((f) => f.code),
    ['SIGNATURE_ERROR'],
  );
  for (const id of flipped) {
    const [finding] = serial.report.findings.filter((f) => f.id === id);
    assert.match(finding!.message, /^signature does not verify/);
    assert.ok(finding!.code, 'the signature failure is coded');
  }
});

test('audit verify names the flipped bytes, not the forged signature: it reads no trust material', async () => {
  const { problems } = await verifyIntegrity(archive);
  assert.deepEqual(
    problems.map((p) => [p.id, p.reason]),
    flipped.map((id) => [id, 'CONTENT_ADDRESS_MISMATCH']),
  );
});

async function auditReverifyAll(jobs: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        cli,
        'audit',
        'reverify',
        '--all',
        '--db',
        dbName,
        '--public-key',
        `${key.keyId}=${keyFile}`,
        '--jobs',
        jobs,
      ],
      { env: { ...process.env, MONGODB_URI: services.mongoUri } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('the built CLI: audit reverify --all prints the same report with --jobs 1 and --jobs 2', async () => {
  const serial = await auditReverifyAll('1');
  const parallel = await auditReverifyAll('2');
  assert.equal(serial.code, 1, serial.stderr);
  assert.equal(parallel.code, 1, parallel.stderr);
  assert.equal(parallel.stdout, serial.stdout);
  assert.match(serial.stdout, new RegExp(`^FINDING attestations ${forged}: signature does not verify`, 'm'));
  for (const id of flipped) assert.match(serial.stdout, new RegExp(`^FINDING attestations ${id}: `, 'm'));
  const badJobs = await auditReverifyAll('0');
  assert.equal(badJobs.code, 2, badJobs.stdout);
  assert.match(badJobs.stderr, /INPUT_INVALID/);
});

test('a verification thread that crashes fails the run with VERIFY_WORKER_FAILED', async () => {
  await assert.rejects(verifyWith(2, crashingWorker), (err: unknown) => {
    assert.ok(isGateError(err), String(err));
    assert.equal(err.code, 'VERIFY_WORKER_FAILED');
    assert.match(err.message, /crashed: verifier fault/);
    return true;
  });
});

test('the attestations in hand stay within the pool window, whatever the size of the archive', async () => {
  const { peak } = await verifyWith(2);
  const window = 2 * IN_FLIGHT_PER_JOB;
  assert.ok(window < COUNT, 'the archive is larger than the window');
  assert.ok(peak <= window, `${peak} in hand, window ${window}`);
  assert.ok(peak > 1, 'the threads worked in parallel');
  const serial = await verifyWith(1);
  assert.equal(serial.peak, 1);
});

/**
 * The read-model export against the real store (FerretDB): incremental runs read the archive's
 * change feed and each record it names by key (on FerretDB any other filter scans the whole
 * collection), a crashed run is completed by the next, a rebuild from a scan writes the same
 * rows, and a day of many small files is compacted into one. Records are written through the
 * archive's own write methods, as the publish path writes them (inputs from make-records.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { type Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { GateError } from '../../../src/core/errors.ts';
import { exportParquet, stageExport } from '../../../src/audit/read-model/export-parquet.ts';
import { openReadModel } from '../../../src/audit/read-model/read-model.ts';
import { TABLES, TABLE_NAMES } from '../../../src/audit/read-model/tables.ts';
import { assertReadsByKey, filtersOf, readRecorder } from '../../helpers/explain-by-key.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { fakeDigest, makeAttestation, makeDecision } from './make-records.ts';

let archive: Archive;
let dir: string;
const recorder = readRecorder();

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('export_feed').replaceAll('-', '_'), {
    onCommand: recorder.onCommand,
  });
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-export-feed-'));
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

const REPOSITORY = '127.0.0.1:5000/release/app';

/** A decision that needs approval, written as the publish path writes it, up to awaiting approval. */
async function decideNeedingApproval(label: string) {
  const now = new Date().toISOString();
  await archive.storeAttestations([makeAttestation(label, { fetchedAt: now })]);
  await archive.storePolicy(fakeDigest('policy-1'), 'apiVersion: v1\n');
  const decision = makeDecision(label, { outcome: 'NEEDS_APPROVAL', decidedAt: now, requestedAt: now });
  await archive.recordDecision(decision);
  await archive.transition(decision.decisionId, 'decided', 'awaiting-approval', 'slsa-gate');
  return decision;
}

/** The approval, the VSA and the publish of a decision awaiting approval. */
async function approveAndPublish(decision: ReturnType<typeof makeDecision>) {
  const now = new Date().toISOString();
  await archive.recordApproval(decision.decisionId, {
    approver: 'lead@acme.example',
    verdict: 'approve',
    reason: 'reviewed',
    at: now,
    verified: true,
  });
  await archive.transition(decision.decisionId, 'awaiting-approval', 'approved', 'lead@acme.example');
  await archive.storeVsa({
    raw: Buffer.from(`vsa-${decision.decisionId}`).toString('base64'),
    direction: 'issued',
    decisionId: decision.decisionId,
    subjectDigest: decision.artifact.digest,
    resourceUri: `oci://${REPOSITORY}`,
    verifierId: 'https://slsa-gate.example/verifier',
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    at: now,
  });
  await archive.markPublished(decision.decisionId, {
    repository: REPOSITORY,
    digest: decision.artifact.digest,
    tag: decision.artifact.tag,
    at: now,
  });
}

/** Every row of every table in `at`, each table ordered by its key (the model's content). */
async function contentOf(at: string): Promise<Record<string, unknown[]>> {
  const model = await openReadModel(at);
  try {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLE_NAMES) {
      out[table] = (await model.query(`SELECT * FROM ${table} ORDER BY ${TABLES[table].key}`)).rows;
    }
    return out;
  } finally {
    model.close();
  }
}

async function rowsOf(sql: string): Promise<Array<Record<string, unknown>>> {
  const model = await openReadModel(dir);
  try {
    return (await model.query(sql)).rows;
  } finally {
    model.close();
  }
}

describe('incremental export through the change feed', () => {
  test('the change feed costs one upsert by key per write the read model exports', async () => {
    recorder.reads.length = 0;
    recorder.recording = true;
    const decision = await decideNeedingApproval('feed-cost');
    await approveAndPublish(decision);
    recorder.recording = false;
    const feedWrites = recorder.reads.flatMap(filtersOf).filter((f) => f.collection === 'changes');
    // storeAttestations, storePolicy, recordDecision, two transitions, recordApproval, storeVsa, markPublished.
    assert.equal(feedWrites.length, 8, JSON.stringify(feedWrites));
    for (const { filter } of feedWrites) assert.deepEqual(Object.keys(filter), ['_id']);
  });

  test('a run picks up a decision, its approval and its publish written after the previous run, by key only', async () => {
    const first = await exportParquet(archive, dir);
    assert.equal(first.mode, 'scan', 'the first run scans');
    assert.equal(first.written.decisions, 1);

    const decision = await decideNeedingApproval('feed-late');
    await approveAndPublish(decision);
    recorder.reads.length = 0;
    recorder.recording = true;
    const second = await exportParquet(archive, dir);
    recorder.recording = false;
    assert.equal(second.mode, 'feed');
    assert.equal(second.written.decisions, 1, JSON.stringify(second.written));
    assert.equal(second.written.approvals, 1);
    assert.equal(second.written.vsas, 1);
    assert.equal(second.written.events, 4, 'created, awaiting-approval, approved, published');
    assert.equal(second.written.attestations, 1);
    await assertReadsByKey(archive, recorder.reads);

    const approvals = await rowsOf(
      `SELECT approver, verdict FROM approvals WHERE decision_id = '${decision.decisionId}'`,
    );
    assert.deepEqual(approvals, [{ approver: 'lead@acme.example', verdict: 'approve' }]);
    const published = await rowsOf(
      `SELECT repository, digest FROM publications WHERE decision_id = '${decision.decisionId}'`,
    );
    assert.deepEqual(published, [{ repository: REPOSITORY, digest: decision.artifact.digest }]);
    const count = await rowsOf('SELECT count(*) AS n FROM decisions');
    assert.equal(count[0]!.n, '2', 'no row written twice');
  });

  test('a run with nothing new reads the feed by key and no collection by scan', async () => {
    recorder.reads.length = 0;
    recorder.recording = true;
    const run = await exportParquet(archive, dir);
    recorder.recording = false;
    assert.equal(run.mode, 'feed');
    assert.deepEqual(
      Object.values(run.written).filter((n) => n > 0),
      [],
    );
    const collections = new Set(recorder.reads.flatMap(filtersOf).map((f) => f.collection));
    assert.ok(collections.has('changes'), 'the feed was read');
    // Records written within the overlap are looked up again, by key; nothing is searched.
    await assertReadsByKey(archive, recorder.reads);
  });

  test('a run that crashed between staging and renaming is completed by the next', async () => {
    const decision = await decideNeedingApproval('feed-crash');
    // The crash: the run staged its files and state but never renamed them into place.
    const staged = await stageExport(archive, dir, { overlapMs: 10 * 60_000, rebuild: false });
    assert.equal(staged.written.decisions, 1);
    assert.deepEqual(
      await rowsOf(`SELECT decision_id FROM decisions WHERE decision_id = '${decision.decisionId}'`),
      [],
      'nothing staged is visible',
    );
    const next = await exportParquet(archive, dir);
    assert.equal(next.written.decisions, 0, 'the staged run was published, not read again');
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.staging-')), 'no staging left');
    assert.deepEqual(
      await rowsOf(`SELECT decision_id FROM decisions WHERE decision_id = '${decision.decisionId}'`),
      [{ decision_id: decision.decisionId }],
    );
    assert.equal((await rowsOf('SELECT count(*) AS n FROM decisions'))[0]!.n, '3');
  });

  test("two runs into one directory at once (a retried schedule run, an operator's run) write each row once", async () => {
    const decision = await decideNeedingApproval('feed-concurrent');
    // Anyone who may start workflows on the task queue can start exportReadModel next to the
    // schedule's run, and a timed-out activity attempt is retried while the first still runs:
    // both write the worker's one directory. Made here by starting two runs together.
    const runs = await Promise.allSettled([exportParquet(archive, dir), exportParquet(archive, dir)]);
    assert.deepEqual(
      runs.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')),
      ['ok', 'ok'],
    );
    assert.deepEqual(
      await rowsOf(`SELECT decision_id FROM decisions WHERE decision_id = '${decision.decisionId}'`),
      [{ decision_id: decision.decisionId }],
      'the decision is served once',
    );
    for (const table of TABLE_NAMES) {
      const key = TABLES[table].key;
      assert.deepEqual(
        await rowsOf(`SELECT ${key} AS k FROM ${table} GROUP BY ALL HAVING count(*) > 1`),
        [],
        `no ${table} row written twice`,
      );
    }
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.staging-')), 'no staging left');
  });

  test('a rebuild from a scan of the store writes the same rows as the incremental runs', async () => {
    const rebuilt = mkdtempSync(join(tmpdir(), 'slsa-gate-export-rebuild-'));
    const run = await exportParquet(archive, rebuilt, { rebuild: true });
    assert.equal(run.mode, 'scan');
    assert.deepEqual(await contentOf(rebuilt), await contentOf(dir));
  });

  test('a rebuild that fails half-way leaves the read model whole; one that succeeds replaces it row for row', async () => {
    const before = await contentOf(dir);
    assert.ok(before.decisions!.length >= 3, 'the model holds the decisions written so far');
    // The attacker-free failure every operator meets: the store goes away in the middle of
    // the rebuild's scan. Made here by a source over the real archive whose scan yields its
    // first batch and then fails as the driver does when the connection drops.
    const storeLostMidScan = {
      databaseName: archive.databaseName,
      async *exportBatches() {
        for await (const batch of archive.exportBatches()) {
          yield batch;
          throw new GateError('ARCHIVE_UNAVAILABLE', 'archive: MongoNetworkError: connection closed');
        }
      },
    };
    await assert.rejects(exportParquet(storeLostMidScan, dir, { rebuild: true }), {
      code: 'ARCHIVE_UNAVAILABLE',
    });
    assert.deepEqual(await contentOf(dir), before, 'the failed rebuild removed nothing');
    const next = await exportParquet(archive, dir);
    assert.equal(next.written.decisions, 0);
    assert.deepEqual(await contentOf(dir), before, 'the next run serves every decision');

    const rebuilt = await exportParquet(archive, dir, { rebuild: true });
    assert.equal(rebuilt.mode, 'scan');
    assert.equal(rebuilt.written.decisions, before.decisions!.length, 'every decision rewritten');
    assert.deepEqual(await contentOf(dir), before, 'the rebuilt model holds each row once');
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.staging-')), 'no staging left');
  });

  test('a day of many small files is compacted into one file holding the same rows', async () => {
    for (const label of ['compact-1', 'compact-2', 'compact-3']) {
      await decideNeedingApproval(label);
      await exportParquet(archive, dir);
    }
    const before = await contentOf(dir);
    const today = `day=${new Date().toISOString().slice(0, 10)}`;
    const partition = join(dir, 'events', today);
    assert.ok(readdirSync(partition).length > 3, `several files in ${partition}`);
    const run = await exportParquet(archive, dir, { compactAt: 3 });
    assert.ok(run.compacted.includes(`events/${today}`), JSON.stringify(run.compacted));
    assert.equal(readdirSync(partition).length, 1);
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.compaction-')));
    assert.deepEqual(await contentOf(dir), before);
    // The compacted file is sorted as a run's: by the common filters, then time.
    const model = await openReadModel(dir);
    try {
      const file = join(partition, readdirSync(partition)[0]!);
      const order = await model.query(
        `SELECT to_status, occurred_at FROM read_parquet('${file}', file_row_number = true) ORDER BY file_row_number`,
      );
      const keys = order.rows.map((r) => `${String(r.to_status)} ${String(r.occurred_at)}`);
      assert.deepEqual(keys, [...keys].sort());
    } finally {
      model.close();
    }
    assert.ok(existsSync(join(dir, '_export.json')));
  });

  test("a reader between a compaction's rename and its removals holds each row once", async () => {
    const at = mkdtempSync(join(tmpdir(), 'slsa-gate-export-compacting-'));
    for (const label of ['mid-compact-1', 'mid-compact-2', 'mid-compact-3']) {
      await decideNeedingApproval(label);
      await exportParquet(archive, at);
    }
    const model = await openReadModel(at, { load: true });
    try {
      const count = async (m = model) =>
        Number((await m.query('SELECT count(*)::INTEGER AS n FROM events')).rows[0]!.n);
      const total = await count();
      // The directory as `compact` (export-parquet.ts) leaves it after renaming the compacted
      // file into place and before removing the files it replaces: plan, compacted file and
      // old files side by side — the compacted file made from the old ones as it makes it.
      const today = `day=${new Date().toISOString().slice(0, 10)}`;
      const partition = join(at, 'events', today);
      const files = readdirSync(partition).filter((f) => f.endsWith('.parquet'));
      assert.ok(files.length > 1, `several files in ${partition}`);
      const target = 'compacted-test.parquet';
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      const sources = files.map((f) => `'${join(partition, f)}'`).join(', ');
      await duck.run(
        `COPY (SELECT * FROM read_parquet([${sources}])) TO '${join(partition, target)}' (FORMAT parquet)`,
      );
      duck.closeSync();
      writeFileSync(
        join(at, `.compaction-events~${today}.json`),
        JSON.stringify({ target, replaces: files }),
      );

      // It takes the compacted file for the ones it replaces (a reload and swap).
      await model.refresh();
      assert.equal(await count(), total, 'a refresh in between adds no row twice');
      const fresh = await openReadModel(at, { load: true });
      try {
        assert.equal(await count(fresh), total, 'a model loaded in between holds each row once');
      } finally {
        fresh.close();
      }
      const views = await openReadModel(at);
      try {
        assert.equal(await count(views), total, 'a model over the files (the CLI) reads each row once');
      } finally {
        views.close();
      }

      // The compaction finishes: the replaced files and the plan go.
      for (const file of files) unlinkSync(join(partition, file));
      unlinkSync(join(at, `.compaction-events~${today}.json`));
      await model.refresh();
      assert.equal(await count(), total, 'after the compaction, the same rows');
    } finally {
      model.close();
    }
  });

  test('a model closed while a refresh reloads it stays closed: the fresh load is closed too', async () => {
    const at = mkdtempSync(join(tmpdir(), 'slsa-gate-export-closing-'));
    for (const label of ['closing-1', 'closing-2']) {
      await decideNeedingApproval(label);
      await exportParquet(archive, at);
    }
    const model = await openReadModel(at, { load: true });
    // A compaction replaces files the model loaded: its refresh loads afresh and swaps.
    const run = await exportParquet(archive, at, { compactAt: 1 });
    assert.ok(run.compacted.length > 0, JSON.stringify(run.compacted));
    // An API shutting down (or its export taken away) while its poll refreshes the model.
    const refreshing = model.refresh();
    model.close();
    await refreshing;
    await assert.rejects(model.query('SELECT count(*) FROM decisions'), 'a closed model answers nothing');
  });
});

/**
 * The auditors' list and stats queries over the loaded read model (src/audit/read-model/
 * audit-queries.ts) against the same queries on the store (src/archive/queries.ts), on one
 * generated archive in the real store (FerretDB), exported by two real export runs; the
 * plan each list shape relies on (EXPLAIN); and `refresh()`: a loaded model picks up what
 * the second export added, and reloads when a compaction replaced files it had loaded.
 *
 * Material: decisions generated with a seeded generator (outcomes, builders, sources,
 * failing codes, approvals, exceptions, events, attestations recording dependencies) over
 * eight days, stored through the archive's collections; nothing here is attacker-made
 * (these are query-semantics tests, not security properties).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  buildDecisionRecord,
  collectionsOf,
  databaseOf,
  openArchive,
  type Archive,
} from '../../../src/archive/archive.ts';
import type { AuditFilters } from '../../../src/archive/audit-filters.ts';
import { toDoc } from '../../../src/archive/collections.ts';
import type { DecisionRecord } from '../../../src/archive/decision-record.ts';
import { sha256Digest } from '../../../src/archive/digest.ts';
import { decisionStats, listDecisions } from '../../../src/archive/queries.ts';
import {
  decisionStatsRows,
  listDecisionRows,
  showDecisionRow,
} from '../../../src/audit/read-model/audit-queries.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { openReadModel, type ReadModel } from '../../../src/audit/read-model/read-model.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const N = 240;
const START = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3600 * 1000;
const builders = ['https://builders.example/a', 'https://builders.example/b', 'https://builders.example/c'];
const versions = ['v1', 'v2'];
const sources = ['git+https://github.com/acme/one', 'git+https://github.com/acme/two'];
const approvers = ['alice@acme.example', 'bob@acme.example'];
const failures = [
  ['builder', 'BUILDER_UNTRUSTED'],
  ['source', 'SOURCE_MISMATCH'],
  ['dependencies', 'DEP_LEVEL_INSUFFICIENT'],
] as const;
const packages = ['pkg:npm/left-pad@1.3.0', 'pkg:npm/right-pad@1.0.0', 'pkg:npm/is-odd@3.0.1'];

let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/**
 * Decision i's records. Decisions are ~48 minutes apart over eight days, several stamped
 * alike (the keyset's tie-break on the id), the last day shared by both export runs.
 */
function recordsOf(i: number) {
  const decisionId = `rmq-${String(i).padStart(4, '0')}/run-1`;
  const decidedAt = new Date(START + Math.floor(i / 3) * 2.4 * HOUR).toISOString();
  const roll = random();
  const outcome = roll < 0.6 ? 'PASSED' : roll < 0.85 ? 'FAILED' : 'NEEDS_APPROVAL';
  const artifact = sha256Digest(`artifact ${i % 200}`);
  const deps = [pick(packages), pick(packages)].map((uri) => ({
    uri,
    digest: { sha256: sha256Digest(uri).slice(7) },
  }));
  if (i > 10 && random() < 0.2) {
    // Depends on an artifact an earlier decision published (an impact edge).
    deps.push({
      uri: 'oci://reg/release/base',
      digest: { sha256: sha256Digest(`artifact ${i - 5}`).slice(7) },
    });
  }
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: artifact.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://builders.example/t',
        externalParameters: {},
        resolvedDependencies: deps,
      },
      runDetails: { builder: { id: builders[0] } },
    },
  };
  const envelope = JSON.stringify({
    payloadType: 'application/vnd.in-toto+json',
    payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
    signatures: [{ keyid: 'k', sig: Buffer.from(`sig ${i}`).toString('base64') }],
  });
  const attestation = sha256Digest(envelope);
  const checks: DecisionRecord['checks'] = [
    { id: 'subject', result: 'PASS', reason: 'artifact is a subject', evidence: [attestation] },
  ];
  if (outcome === 'FAILED') {
    const [id, code] = pick(failures);
    checks.push({ id, result: 'FAIL', code, reason: `generated ${code}` });
  }
  const withException = random() < 0.1;
  const { record } = buildDecisionRecord({
    decisionId,
    workflowId: `rmq-${i}`,
    runId: 'run-1',
    artifact: {
      repository: pick(['reg/staging/app', 'reg/staging/lib']),
      tag: `v${i % 4}`,
      digest: artifact,
    },
    requester: 'ci@acme.example',
    checks,
    outcome,
    policy: { digest: sha256Digest(`policy ${i % 2}`) },
    builder: { id: pick(builders), version: pick(versions) },
    source: { repo: pick(sources), commit: sha256Digest(`commit ${i}`).slice(7, 47) },
    attestationDigests: [attestation],
    exceptions: withException
      ? [
          {
            check: 'dependencies',
            subject: packages[0]!,
            grantedBy: 'sec@acme.example',
            reason: 'ok',
            grantedAt: decidedAt,
          },
        ]
      : [],
    decidedAt,
  });
  const approver = pick(approvers);
  const approved = random() < 0.7;
  const published = outcome === 'PASSED' || (outcome === 'NEEDS_APPROVAL' && approved);
  const event = (from: string | null, to: string, extra: object = {}) => ({
    _id: `${decisionId}|${from === null ? 'created' : `from:${from}`}`,
    schemaVersion: 1,
    decisionId,
    from,
    to,
    at: decidedAt,
    by: 'slsa-gate',
    ...extra,
  });
  const events = [event(null, 'decided')];
  if (outcome === 'NEEDS_APPROVAL') {
    events.push(event('decided', 'awaiting-approval'));
    events.push(event('awaiting-approval', approved ? 'approved' : 'rejected', { by: approver }));
  }
  if (published) {
    const from = outcome === 'NEEDS_APPROVAL' ? 'approved' : 'decided';
    const data = JSON.stringify({
      at: decidedAt,
      digest: artifact,
      repository: 'reg/release/app',
      tag: 'latest',
    });
    events.push(event(from, 'published', { data }));
  } else if (outcome === 'FAILED') events.push(event('decided', 'denied'));
  return {
    decisions: [record],
    attestations: [
      {
        _id: attestation,
        schemaVersion: 1,
        raw: Buffer.from(envelope).toString('base64'),
        size: envelope.length,
        predicateType: 'https://slsa.dev/provenance/v1',
        subjectNames: ['app'],
        subjectDigests: [artifact],
        signerIdentity: `https://github.com/acme/${i % 2 ? 'one' : 'two'}/.github/workflows/release.yml@refs/heads/main`,
        builderId: builders[0],
        origin: `oci://reg/staging/app@${artifact}`,
        fetchedAt: decidedAt,
      },
    ],
    events,
    approvals:
      outcome === 'NEEDS_APPROVAL'
        ? [
            {
              _id: `${decisionId}|${approver}`,
              schemaVersion: 1,
              decisionId,
              approver,
              verdict: approved ? 'approve' : 'reject',
              reason: 'generated',
              at: decidedAt,
            },
          ]
        : [],
    exceptions: withException
      ? [
          {
            _id: `${decisionId}#0`,
            schemaVersion: 1,
            decisionId,
            check: 'dependencies',
            subject: packages[0],
            grantedBy: 'sec@acme.example',
            reason: 'ok',
            grantedAt: decidedAt,
          },
        ]
      : [],
  };
}

const generated = Array.from({ length: N }, (_, i) => recordsOf(i));
/** The first export run sees decisions up to the middle of the last day; the second the rest. */
const FIRST_RUN = N - 10;

async function store(archive: Archive, from: number, to: number): Promise<void> {
  const c = collectionsOf(archive);
  for (const collection of ['decisions', 'attestations', 'events', 'approvals', 'exceptions'] as const) {
    const docs = generated
      .slice(from, to)
      .flatMap((g) => g[collection].map((r) => toDoc(collection, r as never)));
    if (docs.length) await c[collection].insertMany(docs as never[], { ordered: false });
  }
}

let archive: Archive;
let dir: string;
let model: ReadModel;
before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('rmq').replaceAll('-', '_'));
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-rmq-'));
  await store(archive, 0, FIRST_RUN);
});
after(async () => {
  model?.close();
  await databaseOf(archive)?.dropDatabase();
  await archive?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The filters the auditors' lists take, each shape the list plans for. */
const day = (d: number, hours = 0) => new Date(START + d * 24 * HOUR + hours * HOUR).toISOString();
const FILTERS: AuditFilters[] = [
  {},
  { outcome: 'FAILED' },
  { outcome: 'NEEDS_APPROVAL' },
  { builderId: builders[1] },
  { builderId: builders[2], builderVersion: 'v2' },
  { builderVersion: 'v1' },
  { sourceRepo: sources[0] },
  { approver: approvers[0] },
  { approver: approvers[1], since: day(2) },
  { failingCode: 'SOURCE_MISMATCH' },
  { failingCheck: 'builder' },
  { outcome: 'FAILED', builderId: builders[0], sourceRepo: sources[1] },
  { repository: 'reg/staging/lib', tag: 'v1' },
  { policyDigest: sha256Digest('policy 1') },
  { withException: true },
  { withException: false, outcome: 'PASSED' },
  { artifactDigest: sha256Digest('artifact 17') },
  { since: day(3), until: day(4) },
  { since: day(1, 5.5), until: day(6, 13) },
  { until: day(2, 7) },
  { failingCode: 'BUILDER_UNTRUSTED', since: day(5) },
  { sourceRepo: 'git+https://github.com/acme/none' },
];

/** Every id the store lists for `filters`, newest first, a page of `limit` at a time. */
async function storeIds(filters: AuditFilters, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listDecisions(archive, filters, { limit, ...(cursor ? { cursor } : {}) });
    ids.push(...page.items.map((d) => d._id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** Every id the read model lists for `filters`, paging with `after`. */
async function modelIds(filters: AuditFilters, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: { decidedAt: string; decisionId: string } | undefined;
  for (;;) {
    const { rows } = await listDecisionRows(model, filters, { limit, ...(after ? { after } : {}) });
    ids.push(...rows.map((r) => String(r.decision_id)));
    if (rows.length < limit) return ids;
    const last = rows.at(-1)!;
    after = { decidedAt: String(last.decided_at), decisionId: String(last.decision_id) };
  }
}

async function assertSameAsStore(label: string): Promise<void> {
  for (const [n, filters] of FILTERS.entries()) {
    // Pages of 40; small pages (many cursors) for a few shapes.
    for (const limit of n % 4 === 0 ? [40, 7] : [40]) {
      assert.deepEqual(
        await modelIds(filters, limit),
        await storeIds(filters, limit),
        `${label}: ${JSON.stringify(filters)} by pages of ${limit}`,
      );
    }
  }
  for (const filters of [
    {},
    { since: day(2), until: day(5) },
    { builderId: builders[0] },
  ] as AuditFilters[]) {
    const expected = await decisionStats(archive, filters);
    const rows = (await decisionStatsRows(model, filters)).rows;
    const of = (dimension: string) =>
      Object.fromEntries(rows.filter((r) => r.dimension === dimension).map((r) => [r.key, Number(r.count)]));
    const counts = (list: Array<{ key: string; count: number }>) =>
      Object.fromEntries(list.map((c) => [c.key, c.count]));
    const what = `${label}: stats ${JSON.stringify(filters)}`;
    assert.deepEqual(of('outcome'), counts(expected.byOutcome), what);
    assert.deepEqual(of('builder'), counts(expected.byBuilder), what);
    assert.deepEqual(of('failing_code'), counts(expected.byFailingCode), what);
    assert.deepEqual(of('day'), counts(expected.byDay), what);
  }
}

const DERIVED = [
  'publications',
  'decision_attestations',
  'decision_dependencies',
  'decision_signers',
  'dependency_edges',
  'decision_status',
  'releases',
];

/** Each derived table of `model` equals the one a model loaded afresh from the same files builds. */
async function assertDerivedAsLoadedAfresh(label: string): Promise<void> {
  const fresh = await openReadModel(dir, { load: true });
  try {
    for (const table of [...DERIVED, 'decisions', 'approvals', 'events']) {
      const sql = `SELECT * FROM ${table} ORDER BY ALL`;
      assert.deepEqual((await model.query(sql)).rows, (await fresh.query(sql)).rows, `${label}: ${table}`);
    }
    const counts = 'SELECT dimension, key, day, sum(count) AS n FROM daily_counts GROUP BY ALL ORDER BY ALL';
    assert.deepEqual(
      (await model.query(counts)).rows,
      (await fresh.query(counts)).rows,
      `${label}: daily_counts`,
    );
  } finally {
    fresh.close();
  }
}

test('lists and stats over the loaded read model answer as the store does, and refresh() picks up a second export run', async () => {
  const first = await exportParquet(archive, dir);
  assert.equal(first.written.decisions, FIRST_RUN);
  model = await openReadModel(dir, { load: true });
  assert.equal(model.asOf, first.state.exportedAt);
  assert.deepEqual(await model.refresh(), { changed: false }, 'nothing new yet');
  await assertSameAsStore('first run');

  await store(archive, FIRST_RUN, N);
  // These records were inserted as documents, not by the archive's writers, so the change
  // feed does not name them: as for an archive whose feed started after the last run
  // (docs/audit.md, "Incremental"), the second run scans and adds only rows not written yet.
  await databaseOf(archive)
    .collection<{ _id: string; at: Date }>('migrations')
    .updateOne({ _id: 'change-feed-v1' }, { $set: { at: new Date() } });
  const second = await exportParquet(archive, dir);
  assert.equal(second.written.decisions, N - FIRST_RUN, 'the second run wrote only the new decisions');
  assert.equal(model.asOf, first.state.exportedAt, 'a model answers as of what it loaded until refreshed');
  assert.deepEqual(await model.refresh(), { changed: true });
  assert.equal(model.asOf, second.state.exportedAt);
  const count = await model.query('SELECT count(*) AS n FROM decisions');
  assert.equal(count.rows[0]!.n, String(N), 'every decision once');
  await assertSameAsStore('after refresh');
  await assertDerivedAsLoadedAfresh('after refresh');
  assert.deepEqual(await model.refresh(), { changed: false }, 'a second refresh finds nothing new');
});

test('refresh() reloads when a compaction replaced files it had loaded', async () => {
  // The last day holds files of both runs: a compaction replaces them by one file of the same rows.
  const partition = join(dir, 'decisions', `day=${day(Math.floor((N - 1) / 3 / 10)).slice(0, 10)}`);
  const files = readdirSync(partition).map((f) => join(partition, f));
  assert.ok(files.length >= 2, `the last day has a file per run: ${files.join(', ')}`);
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  const staged = join(dir, 'compacted.parquet.tmp');
  await db.run(
    `COPY (SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])) TO '${staged}' (FORMAT parquet)`,
  );
  db.closeSync();
  instance.closeSync();
  renameSync(staged, join(partition, 'compacted.parquet'));
  for (const f of files) rmSync(f);

  // A query running while the model swaps is answered by the model it started on.
  const during = listDecisionRows(model, { outcome: 'FAILED' }, { limit: 1000 });
  assert.deepEqual(await model.refresh(), { changed: true });
  assert.ok((await during).rows.length > 0);
  const count = await model.query('SELECT count(*) AS n FROM decisions');
  assert.equal(count.rows[0]!.n, String(N), 'the compacted rows once');
  await assertSameAsStore('after compaction');
  assert.deepEqual(await model.refresh(), { changed: false });
});

/** A node of a plan (DuckDB's `EXPLAIN (FORMAT json)`). */
interface PlanNode {
  name: string;
  children: PlanNode[];
  extra_info: Record<string, unknown>;
}

/** The SQL a query function issues on `model`, run again under EXPLAIN [ANALYZE]: each statement's plan. */
async function plansOf(issue: (spy: ReadModel) => Promise<unknown>, analyze = false): Promise<PlanNode[][]> {
  type Params = Record<string, string | number | boolean | null>;
  const issued: Array<[string, Params | undefined]> = [];
  const spy: ReadModel = Object.create(model, {
    query: {
      value: (sql: string, params?: Params) => {
        issued.push([sql, params]);
        return model.query(sql, params);
      },
    },
  });
  await issue(spy);
  const plans: PlanNode[][] = [];
  for (const [sql, params] of issued) {
    const explained = await model.query(`EXPLAIN (${analyze ? 'ANALYZE, ' : ''}FORMAT json) ${sql}`, params);
    const json = explained.rows.map((r) => String(r.explain_value ?? Object.values(r).at(-1))).at(-1)!;
    const parsed = JSON.parse(json) as PlanNode[] | { children: PlanNode[] };
    plans.push(Array.isArray(parsed) ? parsed : parsed.children);
  }
  return plans;
}

/** Every scan of `table` in a plan: its type and filters. */
function scansOf(plan: PlanNode[], table: string): Array<{ type: string; filters: string }> {
  const found: Array<{ type: string; filters: string }> = [];
  const visit = (node: PlanNode) => {
    const info = node.extra_info ?? {};
    if (typeof info.Table === 'string' && new RegExp(`(^|\\.)${table}$`).test(info.Table)) {
      const filters = info.Filters;
      found.push({
        type: String(info.Type),
        filters: Array.isArray(filters) ? filters.join(' AND ') : String(filters ?? ''),
      });
    }
    for (const child of node.children ?? []) visit(child);
  };
  plan.forEach(visit);
  return found;
}

/** The one scan of `table` in a plan. */
function scanOf(plan: PlanNode[], table: string): { type: string; filters: string } {
  const scans = scansOf(plan, table);
  assert.equal(scans.length, 1, `one scan of ${table} in ${JSON.stringify(plan)}`);
  return scans[0]!;
}

/**
 * The filters of the scan of `decisions` that picks a list's rows. DuckDB may then fetch the
 * picked rows' other columns by row id (late materialisation: a second scan joined on
 * `rowid`), which reads only those rows.
 */
function windowScanOf(plan: PlanNode[]): string {
  const scans = scansOf(plan, 'decisions');
  const picking = scans.filter((s) => s.filters.includes('decided_at'));
  assert.equal(picking.length, 1, `one scan of decisions picks the rows: ${JSON.stringify(plan)}`);
  if (scans.length > 1) {
    assert.equal(scans.length, 2);
    assert.match(JSON.stringify(plan), /"Conditions":"rowid = rowid"/, 'the other scan fetches by row id');
  }
  return picking[0]!.filters;
}

test('each list shape reads only the days that can hold its page: the scan of decisions filters on decided_at', async () => {
  const shapes: Array<[string, AuditFilters]> = [
    ['newest', {}],
    ['outcome', { outcome: 'FAILED' }],
    ['builder', { builderId: builders[1], builderVersion: 'v1' }],
    ['source', { sourceRepo: sources[0] }],
    ['approver', { approver: approvers[0] }],
    ['failing code', { failingCode: 'SOURCE_MISMATCH' }],
    ['day range', { since: day(3), until: day(4) }],
  ];
  for (const [shape, filters] of shapes) {
    for (const page of [{ limit: 5 }, { limit: 5, after: { decidedAt: day(6), decisionId: 'rmq-9999' } }]) {
      const plans = await plansOf((spy) => listDecisionRows(spy, filters, page));
      // First the per-day counts (a small table), then the decisions of a window of days.
      assert.match(scanOf(plans[0]!, 'daily_counts').filters, /dimension/, `${shape}: counts by dimension`);
      const scan = windowScanOf(plans.at(-1)!);
      assert.match(scan, /decided_at>='[^']+'::TIMESTAMP WITH TIME ZONE/, `${shape}: window start`);
      assert.match(scan, /decided_at<'[^']+'::TIMESTAMP WITH TIME ZONE/, `${shape}: window end`);
    }
  }
  // The window is days, not everything: the newest page of eight days reads about one day.
  const [, newest] = await plansOf((spy) => listDecisionRows(spy, {}, { limit: 5 }));
  const from = /decided_at>='([^']+)'/.exec(windowScanOf(newest!))![1]!;
  assert.ok(
    Date.parse(from.replace(' ', 'T').replace(/\+00$/, 'Z')) >= Date.parse(day(6)),
    `window from ${from}`,
  );
});

test('show and the digest list are index lookups; day-range stats read the per-day counts only', async () => {
  for (const plan of [
    ...(await plansOf((spy) => showDecisionRow(spy, 'rmq-0042/run-1'), true)),
    ...(await plansOf((spy) => listDecisionRows(spy, { artifactDigest: sha256Digest('artifact 17') }), true)),
  ]) {
    assert.equal(scanOf(plan, 'decisions').type, 'Index Scan');
  }
  const [stats] = await plansOf((spy) => decisionStatsRows(spy, { since: day(2), until: day(5) }));
  assert.ok(scansOf(stats!, 'daily_counts').length > 0, 'the per-day counts');
  assert.deepEqual(scansOf(stats!, 'decisions'), [], 'no scan of the decisions');
});

/**
 * The Parquet read model over real publishes (real Temporal server and Worker, registry,
 * FerretDB): the export, auditors' SQL, and impact analysis.
 *
 * Material: images built and signed by the demo builder (src/demo/demo-builder.ts, a real
 * ECDSA key made per run); two of the three releases record the dependency
 * `pkg:npm/left-pad@1.3.0` with a fixed sha256, the third `pkg:npm/right-pad@1.0.0`; a
 * fourth release depends on the second's published image (by digest, as a base image); a
 * fifth, made by an attacker who edited the signed provenance after signing
 * (tamperEnvelope: builder id changed, signature left as it was), is denied.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hashToken, TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import { decisionStatsRows } from '../../src/audit/read-model/audit-queries.ts';
import { exportParquet } from '../../src/audit/read-model/export-parquet.ts';
import { DEFAULT_SAVED_QUERIES } from '../../src/audit/read-model/saved-queries.ts';
import { impact } from '../../src/audit/read-model/impact.ts';
import { openReadModel, readOnlySql, type ReadModel } from '../../src/audit/read-model/read-model.ts';
import { serveReadModel } from '../../src/audit/read-model/served-model.ts';
import { buildAndAttest, DEMO_BUILDER_ID } from '../../src/demo/demo-builder.ts';
import { isGateError } from '../../src/core/errors.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const LEFT_PAD = { uri: 'pkg:npm/left-pad@1.3.0', digest: { sha256: 'a1'.repeat(32) } };
const RIGHT_PAD = { uri: 'pkg:npm/right-pad@1.0.0', digest: { sha256: 'b2'.repeat(32) } };

const BUILDER_NAME = DEMO_BUILDER_ID.split('@')[0]!;

let h: PublishHarness;
let dir: string;
const published: Record<string, string> = {};
let deniedDigest: string;

before(async () => {
  h = await startPublishHarness();
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-read-model-'));
  for (const [name, dependency] of [
    ['one', LEFT_PAD],
    ['two', LEFT_PAD],
    ['three', RIGHT_PAD],
  ] as const) {
    const staging = `staging/${uniqueName(name)}`;
    const built = await buildAndAttest(h.registry, staging, {
      tag: 'v1.0.0',
      seed: staging,
      key: h.builderKey,
      provenance: { dependencies: [dependency] },
    });
    const result = await h.publish(requestFor(h, staging, built.digest, { tag: 'v1.0.0' }));
    assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
    published[name] = built.digest;
  }
  const downstream = `staging/${uniqueName('four')}`;
  const built = await buildAndAttest(h.registry, downstream, {
    tag: 'v1.0.0',
    seed: downstream,
    key: h.builderKey,
    provenance: {
      dependencies: [
        { uri: `oci://${h.registryHost}/release/base`, digest: { sha256: published.two!.slice(7) } },
      ],
    },
  });
  const result = await h.publish(requestFor(h, downstream, built.digest, { tag: 'v1.0.0' }));
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  published.four = built.digest;
  const staging = `staging/${uniqueName('forged')}`;
  const forged = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
    provenance: { dependencies: [LEFT_PAD] },
    tamper: (statement) => {
      const predicate = statement.predicate as { runDetails: { builder: { id: string } } };
      predicate.runDetails.builder.id = 'https://attacker.example/builder';
    },
  });
  const denied = await h.publish(requestFor(h, staging, forged.digest, { tag: 'v1.0.0' }));
  assert.equal(denied.status, 'DENIED');
  deniedDigest = forged.digest;
});
after(async () => {
  await h?.close();
});

async function withModel<T>(use: (model: ReadModel) => Promise<T>): Promise<T> {
  const model = await openReadModel(dir);
  try {
    return await use(model);
  } finally {
    model.close();
  }
}

test('the export writes every table partitioned by day, and a second run writes nothing new', async () => {
  const first = await exportParquet(h.deps.archive, dir);
  assert.equal(first.written.decisions, 5);
  assert.ok(first.written.checks >= 5 * 3, `checks ${first.written.checks}`);
  assert.ok(first.written.events >= 5 * 2);
  assert.ok(first.written.vsas >= 4, 'an issued VSA per release');
  assert.ok(first.written.dependencies >= 3, 'the dependencies the provenances recorded');
  const today = new Date().toISOString().slice(0, 10);
  assert.ok(readdirSync(join(dir, 'decisions')).includes(`day=${today}`));
  const second = await exportParquet(h.deps.archive, dir);
  assert.deepEqual(
    Object.values(second.written).filter((n) => n > 0),
    [],
    'the second run found everything already written',
  );
  await withModel(async (model) => {
    const n = await model.query('SELECT count(*) AS n FROM decisions');
    assert.equal(n.rows[0]!.n, '5', 'no row written twice');
  });
});

test('auditors answer their questions in SQL: denials by code, releases by builder version, releases by dependency', async () => {
  await exportParquet(h.deps.archive, dir);
  await withModel(async (model) => {
    const denials = await readOnlySql(
      model,
      `SELECT code, count(*) AS n FROM checks JOIN decisions USING (decision_id)
       WHERE outcome = 'FAILED' AND result = 'FAIL' AND decisions.decided_at >= now() - INTERVAL 7 DAY
       GROUP BY code ORDER BY n DESC`,
    );
    assert.equal(denials.rows.length >= 1, true, JSON.stringify(denials.rows));
    const byBuilder = await readOnlySql(
      model,
      `SELECT digest FROM releases WHERE builder_id = '${BUILDER_NAME}' AND builder_version = 'v1' ORDER BY digest`,
    );
    assert.deepEqual(
      byBuilder.rows.map((r) => r.digest),
      Object.values(published).sort(),
    );
    const byDependency = await readOnlySql(
      model,
      `SELECT DISTINCT r.digest FROM releases r, unnest(r.attestation_digests) AS u(att)
       JOIN dependencies d ON d.attestation_digest = u.att
       WHERE d.uri = 'pkg:npm/left-pad@1.3.0' ORDER BY 1`,
    );
    assert.deepEqual(
      byDependency.rows.map((r) => r.digest),
      [published.one, published.two].sort(),
    );
  });
});

test('audit sql refuses anything but one SELECT, and files outside the export', async () => {
  await withModel(async (model) => {
    for (const sql of [
      `COPY decisions TO '${join(dir, 'stolen.csv')}'`,
      'SELECT 1; SELECT 2',
      "SELECT * FROM read_csv('/etc/passwd')",
      'CREATE TABLE x AS SELECT 1',
      "ATTACH '/tmp/x.db'",
      'SET enable_external_access = true',
    ]) {
      await assert.rejects(
        readOnlySql(model, sql),
        (err: unknown) => isGateError(err) && err.code === 'INPUT_INVALID',
        sql,
      );
    }
  });
});

test('impact: a dependency shared by two of three releases finds exactly those two, however it is written, and what was built on them', async () => {
  await exportParquet(h.deps.archive, dir);
  await withModel(async (model) => {
    for (const dependency of [
      'pkg:npm/left-pad@1.3.0',
      `pkg:npm/left-pad@1.3.0@sha256:${'a1'.repeat(32)}`,
      `sha256:${'A1'.repeat(32)}`,
    ]) {
      const found = await impact(model, { dependency });
      assert.deepEqual(
        found.rows
          .filter((r) => r.via === null)
          .map((r) => r.digest)
          .sort(),
        [published.one, published.two].sort(),
        dependency,
      );
      // Transitively: the fourth release used the second's image, so it is affected through it.
      assert.deepEqual(
        found.rows.filter((r) => r.via !== null).map((r) => [r.digest, r.via]),
        [[published.four, published.two]],
        dependency,
      );
    }
    // The denied forgery recorded the same dependency; with its status asked for, it is listed too.
    const withDenied = await impact(model, {
      dependency: 'pkg:npm/left-pad@1.3.0',
      status: ['published', 'denied'],
    });
    assert.deepEqual(
      withDenied.rows.map((r) => r.digest).sort(),
      [published.one, published.two, published.four, deniedDigest].sort(),
    );
    const bySource = await impact(model, { source: 'github.com/example/app', since: '2020-01-01' });
    assert.equal(bySource.rows.length, 4);
    const sameSource = await impact(model, { source: 'https://github.com/example/app' });
    assert.equal(sameSource.rows.length, 4);
    assert.equal((await impact(model, { builder: `${BUILDER_NAME}@v9` })).rows.length, 0);
    assert.equal((await impact(model, { builder: `${BUILDER_NAME}@refs/tags/v1` })).rows.length, 4);
    assert.equal((await impact(model, { builder: DEMO_BUILDER_ID })).rows.length, 4);
    assert.equal(
      (await impact(model, { source: 'github.com/example/app', since: '2999-01-01' })).rows.length,
      0,
    );
  });
});

test('the web view runs saved queries on the read model, for a logged-in auditor only', async () => {
  await exportParquet(h.deps.archive, dir);
  const reader = randomBytes(32).toString('hex');
  const served = serveReadModel(dir);
  const server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier({
      tokens: [{ name: 'auditor', sha256: hashToken(reader), scopes: ['audit:read'] }],
    }),
    readModel: { served, queries: DEFAULT_SAVED_QUERIES },
    log: () => {},
  });
  const base = (await listenApi(server, 0)).url;
  try {
    const get = (path: string, token: string | null = reader) =>
      fetch(`${base}${path}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        redirect: 'manual',
      });
    const index = await get('/queries');
    assert.equal(index.status, 200);
    assert.match(await index.text(), /href="\/queries\/releases-by-builder"/);
    const page = await get('/queries/releases-by-builder');
    assert.equal(page.status, 200);
    const text = await page.text();
    assert.match(
      text,
      new RegExp(`<td>${BUILDER_NAME.replaceAll('.', '\\.')}</td>\\s*<td>v1</td>\\s*<td>4</td>`),
    );
    assert.match(text, /as exported at \d{4}-\d{2}-\d{2}T/);
    assert.equal((await get('/queries/no-such-query')).status, 404);
    assert.notEqual((await get('/queries/releases-by-builder', null)).status, 200);
  } finally {
    served.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('statistics over whole days from the per-day counts equal those counted over every decision', async () => {
  await exportParquet(h.deps.archive, dir);
  await withModel(async (model) => {
    const today = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
    const fromDays = await decisionStatsRows(model, { since: today });
    // One millisecond later is not a whole day: counted over the decisions themselves.
    const fromDecisions = await decisionStatsRows(model, { since: '2000-01-01T00:00:00.001Z' });
    assert.ok(fromDays.rows.some((r) => r.dimension === 'outcome' && r.key === 'PASSED' && r.count === '4'));
    assert.deepEqual(fromDays.rows, fromDecisions.rows);
  });
});

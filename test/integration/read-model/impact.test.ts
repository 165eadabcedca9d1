/**
 * `audit impact` over a generated read model (the real export, DuckDB loaded into memory and
 * as views): its answers are those of the recursive query over the derived views that
 * answered it before the side tables (`REFERENCE_SQL`, kept here as the oracle), page by page;
 * and the plans of the queries it issues read the side tables through the filters they rely on.
 *
 * Material: archive records made here (the bench's generator shape): decisions with the
 * signed-provenance envelope each rests on (unsigned: the export does not verify), their
 * events (published / denied) and the dependencies each provenance records. The attacker
 * material is provenance a signer wrote: a chain of releases each depending on the one
 * before's published digest (depth 4), a release whose provenance lists its own artifact
 * digest as a dependency (the provenance is written after the build, when the digest is
 * known, and a signer may list any digest), and two releases listing each other's digest
 * (the second built first, its digest known before the first's provenance was written).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildDecisionRecord, type ExportedCollection } from '../../../src/archive/archive.ts';
import type { DecisionRecord } from '../../../src/archive/decision-record.ts';
import { sha256Digest } from '../../../src/archive/digest.ts';
import { isGateError } from '../../../src/core/errors.ts';
import {
  exportParquet,
  exportSourceOf,
  type ExportSource,
} from '../../../src/audit/read-model/export-parquet.ts';
import { impact, impactOf, type ImpactQuery } from '../../../src/audit/read-model/impact.ts';
import { openReadModel, type ReadModel } from '../../../src/audit/read-model/read-model.ts';

const LEFT_PAD = 'pkg:npm/left-pad@1.3.0';
const LEFT_PAD_SHA = 'a1'.repeat(32);
const LIB = 'git+https://github.com/acme/lib@refs/heads/main';
const BUILDER = 'https://builders.example/container';
const POLICY = sha256Digest('policy main');
const OTHER_POLICY = sha256Digest('policy other');
const SIGNER = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

interface Release {
  name: string;
  deps: Array<{ uri?: string; sha256?: string }>;
  outcome?: 'PASSED' | 'FAILED';
  builderVersion?: string;
  source?: string;
  policy?: string;
  signer?: string;
  /** Decided this many minutes after the first. */
  at: number;
}

const artifactOf = (name: string) => sha256Digest(`artifact ${name}`);

/** The releases: the attacker-made chain and cycles around left-pad, and ordinary ones. */
const RELEASES: Release[] = [
  { name: 'a', deps: [{ uri: LEFT_PAD, sha256: LEFT_PAD_SHA }], at: 1, builderVersion: 'refs/tags/v1' },
  // The chain a → b → c → d → e: each lists the previous one's published digest.
  { name: 'b', deps: [{ uri: 'oci://registry.example/release/a', sha256: artifactOf('a').slice(7) }], at: 2 },
  { name: 'c', deps: [{ uri: 'oci://registry.example/release/b', sha256: artifactOf('b').slice(7) }], at: 3 },
  { name: 'd', deps: [{ uri: 'oci://registry.example/release/c', sha256: artifactOf('c').slice(7) }], at: 4 },
  { name: 'e', deps: [{ uri: 'oci://registry.example/release/d', sha256: artifactOf('d').slice(7) }], at: 5 },
  // Its own digest as a dependency (a loop of one), next to left-pad.
  {
    name: 'self',
    deps: [
      { uri: LEFT_PAD, sha256: LEFT_PAD_SHA },
      { uri: 'oci://registry.example/release/self', sha256: artifactOf('self').slice(7) },
    ],
    at: 6,
    signer: 'https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main',
  },
  // Two releases listing each other (a loop of two); only `ping` uses left-pad.
  {
    name: 'ping',
    deps: [
      { uri: LEFT_PAD, sha256: LEFT_PAD_SHA },
      { uri: 'oci://registry.example/release/pong', sha256: artifactOf('pong').slice(7) },
    ],
    at: 7,
  },
  {
    name: 'pong',
    deps: [{ uri: 'oci://registry.example/release/ping', sha256: artifactOf('ping').slice(7) }],
    at: 8,
  },
  // Denied with left-pad: listed only when denied releases are asked for.
  { name: 'denied', deps: [{ uri: LEFT_PAD, sha256: LEFT_PAD_SHA }], outcome: 'FAILED', at: 9 },
  // left-pad by digest only (no uri), and by another uri with the same digest.
  { name: 'digest-only', deps: [{ sha256: LEFT_PAD_SHA }], at: 10, policy: OTHER_POLICY },
  {
    name: 'git-lib',
    deps: [{ uri: LIB, sha256: 'c3'.repeat(32) }],
    at: 11,
    source: 'git+https://github.com/acme/lib',
  },
  // Same instant as `git-lib`: the order falls back to the decision id.
  { name: 'git-lib-2', deps: [{ uri: LIB }], at: 11, builderVersion: 'v2' },
  ...Array.from({ length: 40 }, (_, i) => ({
    name: `filler-${i}`,
    deps: [{ uri: `pkg:npm/dep${i % 7}@1.0.${i % 3}`, sha256: sha256Digest(`dep ${i % 7}`).slice(7) }],
    at: 12 + i,
    ...(i % 4 === 0 ? { outcome: 'FAILED' as const } : {}),
    ...(i % 5 === 0 ? { builderVersion: 'v1' } : {}),
  })),
];

const START = Date.parse('2026-11-30T00:00:00Z');

function envelopeOf(r: Release): string {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: r.name, digest: { sha256: artifactOf(r.name).slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://builders.example/container@v1',
        externalParameters: {},
        resolvedDependencies: r.deps.map((d) => ({
          ...(d.uri ? { uri: d.uri } : {}),
          digest: d.sha256 ? { sha256: d.sha256 } : {},
        })),
      },
      runDetails: { builder: { id: BUILDER } },
    },
  };
  return JSON.stringify({
    payloadType: 'application/vnd.in-toto+json',
    payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
    signatures: [{ keyid: 'test', sig: Buffer.from(`signature ${r.name}`).toString('base64') }],
  });
}

/** The releases as the archive holds them, for the export. */
function sourceOf(releases: Release[], unpublished: ReadonlySet<string> = new Set()): ExportSource {
  async function* records(collection: ExportedCollection): AsyncIterable<unknown> {
    for (const r of releases) {
      const decisionId = `impact-${r.name}/run-1`;
      const decidedAt = new Date(START + r.at * 60_000).toISOString();
      const envelope = envelopeOf(r);
      const attestation = sha256Digest(envelope);
      const outcome = r.outcome ?? 'PASSED';
      if (collection === 'decisions') {
        const checks: DecisionRecord['checks'] =
          outcome === 'PASSED'
            ? [{ id: 'subject', result: 'PASS', reason: 'artifact is a subject', evidence: [attestation] }]
            : [{ id: 'builder', result: 'FAIL', code: 'BUILDER_UNTRUSTED', reason: 'generated' }];
        yield buildDecisionRecord({
          decisionId,
          workflowId: `impact-${r.name}`,
          runId: 'run-1',
          artifact: {
            repository: `registry.example/staging/${r.name}`,
            tag: 'v1',
            digest: artifactOf(r.name),
          },
          requester: 'ci@acme.example',
          checks,
          outcome,
          policy: { digest: r.policy ?? POLICY },
          builder: { id: BUILDER, version: r.builderVersion ?? 'refs/tags/v1.1' },
          source: {
            repo: r.source ?? 'git+https://github.com/acme/app',
            commit: sha256Digest(`commit ${r.name}`).slice(7, 47),
            ref: 'refs/heads/main',
          },
          attestationDigests: [attestation],
          exceptions: [],
          decidedAt,
        }).record;
      } else if (collection === 'attestations') {
        yield {
          _id: attestation,
          schemaVersion: 1,
          raw: Buffer.from(envelope).toString('base64'),
          size: envelope.length,
          predicateType: 'https://slsa.dev/provenance/v1',
          subjectNames: [r.name],
          subjectDigests: [artifactOf(r.name)],
          signerIdentity: r.signer ?? SIGNER,
          builderId: BUILDER,
          origin: `oci://registry.example/staging/${r.name}@${artifactOf(r.name)}`,
          fetchedAt: decidedAt,
        };
      } else if (collection === 'events') {
        yield {
          _id: `${decisionId}|created`,
          schemaVersion: 1,
          decisionId,
          from: null,
          to: 'decided',
          at: decidedAt,
          by: 'ci',
        };
        if (unpublished.has(r.name)) continue;
        yield outcome === 'PASSED'
          ? {
              _id: `${decisionId}|from:decided`,
              schemaVersion: 1,
              decisionId,
              from: 'decided',
              to: 'published',
              at: decidedAt,
              data: JSON.stringify({
                at: decidedAt,
                digest: artifactOf(r.name),
                repository: `registry.example/release/${r.name}`,
                tag: 'v1',
              }),
            }
          : {
              _id: `${decisionId}|from:decided`,
              schemaVersion: 1,
              decisionId,
              from: 'decided',
              to: 'denied',
              at: decidedAt,
              by: 'slsa-gate',
            };
      }
    }
  }
  return exportSourceOf('impact-test', records);
}

/**
 * The answer as the read model gave it before the side tables: a recursive query over the
 * derived views, one scan and join of every decision, status and publication per question.
 */
function referenceSql(direct: string, statuses: string[], since?: string): string {
  return `WITH RECURSIVE affected(decision_id, via) AS (
      SELECT decision_id, NULL::VARCHAR FROM (${direct})
      UNION
      SELECT e.downstream, e.digest FROM affected a JOIN dependency_edges e ON e.upstream = a.decision_id
    ),
    first_path AS (SELECT decision_id, min(via) AS via FROM affected GROUP BY decision_id)
    SELECT coalesce(p.repository, d.repository) AS repository, coalesce(p.tag, d.tag) AS tag,
      coalesce(p.digest, d.artifact_digest) AS digest, d.decision_id, s.status, d.outcome,
      d.decided_at, p.published_at, f.via
    FROM first_path f
    JOIN decisions d USING (decision_id)
    JOIN decision_status s USING (decision_id)
    LEFT JOIN publications p USING (decision_id)
    WHERE s.status IN (${statuses.map((s) => `'${s}'`).join(', ')})
      ${since ? `AND d.decided_at >= CAST('${since}' AS TIMESTAMPTZ)` : ''}
    ORDER BY d.decided_at DESC, d.decision_id`;
}

/** Each question, with the direct selection the reference query made for it. */
const QUESTIONS: Array<{ query: ImpactQuery; direct: string; statuses?: string[]; since?: string }> = [
  {
    query: { dependency: 'pkg:npm/left-pad' },
    direct: `SELECT DISTINCT decision_id FROM decision_dependencies WHERE uri = 'pkg:npm/left-pad' OR starts_with(uri, 'pkg:npm/left-pad@')`,
  },
  {
    query: { dependency: LEFT_PAD, status: ['published', 'denied'] },
    direct: `SELECT DISTINCT decision_id FROM decision_dependencies WHERE uri = '${LEFT_PAD}' OR starts_with(uri, '${LEFT_PAD}@')`,
    statuses: ['published', 'denied'],
  },
  {
    query: { dependency: `sha256:${LEFT_PAD_SHA.toUpperCase()}` },
    direct: `SELECT DISTINCT decision_id FROM decision_dependencies WHERE list_contains(digests, 'sha256:${LEFT_PAD_SHA}')`,
  },
  {
    query: { dependency: `${LEFT_PAD}@sha256:${LEFT_PAD_SHA}`, since: '2026-11-30T00:05:30+00:00' },
    direct: `SELECT DISTINCT decision_id FROM decision_dependencies
      WHERE (uri = '${LEFT_PAD}' OR starts_with(uri, '${LEFT_PAD}@')) AND list_contains(digests, 'sha256:${LEFT_PAD_SHA}')`,
    since: '2026-11-30T00:05:30.000Z',
  },
  {
    // `https://github.com/acme/lib` is the git repository `git+https://github.com/acme/lib`.
    query: { dependency: 'https://github.com/acme/lib' },
    direct: `SELECT DISTINCT decision_id FROM decision_dependencies
      WHERE uri = 'git+https://github.com/acme/lib' OR starts_with(uri, 'git+https://github.com/acme/lib@')`,
  },
  {
    query: { builder: `${BUILDER}@v1` },
    direct: `SELECT decision_id FROM decisions WHERE builder_id = '${BUILDER}' AND builder_version IN ('v1', 'refs/tags/v1')`,
  },
  {
    query: { builder: BUILDER, status: ['denied'] },
    direct: `SELECT decision_id FROM decisions WHERE builder_id = '${BUILDER}'`,
    statuses: ['denied'],
  },
  {
    query: { source: 'github.com/acme/lib' },
    direct: `SELECT decision_id FROM source_refs WHERE source_repo = 'git+https://github.com/acme/lib'`,
  },
  {
    query: { source: `https://github.com/acme/app@${sha256Digest('commit b').slice(7, 47)}` },
    direct: `SELECT decision_id FROM source_refs WHERE source_repo = 'git+https://github.com/acme/app'
      AND source_commit = '${sha256Digest('commit b').slice(7, 47)}'`,
  },
  {
    query: { signer: SIGNER, since: '2026-11-30' },
    direct: `SELECT decision_id FROM decision_signers WHERE signer_identity = '${SIGNER}'`,
    since: '2026-11-30T00:00:00.000Z',
  },
  {
    query: { policy: OTHER_POLICY, status: ['published', 'denied'] },
    direct: `SELECT decision_id FROM decisions WHERE policy_digest = '${OTHER_POLICY}'`,
    statuses: ['published', 'denied'],
  },
  {
    query: { dependency: 'pkg:npm/nothing-uses-this' },
    direct: `SELECT NULL::VARCHAR AS decision_id WHERE false`,
  },
];

let dir: string;
let loaded: ReadModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-impact-'));
  await exportParquet(sourceOf(RELEASES), dir);
  loaded = await openReadModel(dir, { load: true });
});

after(() => {
  loaded?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('impact answers what the recursive query over every decision answered, loaded and as views, page by page', async () => {
  const views = await openReadModel(dir);
  try {
    for (const model of [loaded, views]) {
      for (const { query, direct, statuses, since } of QUESTIONS) {
        const expected = await model.query(referenceSql(direct, statuses ?? ['published'], since));
        const whole = await impact(model, query);
        assert.deepEqual(whole.rows, expected.rows, JSON.stringify(query));
        assert.deepEqual(whole.columns, expected.columns);
        // Pages of two, walked with the cursor, are the same rows; every page says the total.
        const paged: unknown[] = [];
        let cursor: string | undefined;
        do {
          const page = await impactOf(model, query, { limit: 2, ...(cursor ? { cursor } : {}) });
          assert.equal(page.total, new Set(expected.rows.map((r) => r.decision_id)).size);
          assert.ok(page.rows.length <= 2);
          paged.push(...page.rows);
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        assert.deepEqual(paged, expected.rows, `paged ${JSON.stringify(query)}`);
      }
    }
  } finally {
    views.close();
  }
});

test('left-pad reaches the end of a chain four deep and stops at each loop', async () => {
  const found = await impact(loaded, { dependency: LEFT_PAD });
  const via = Object.fromEntries(found.rows.map((r) => [String(r.decision_id).slice(7, -6), r.via]));
  assert.deepEqual(via, {
    a: null,
    b: artifactOf('a'),
    c: artifactOf('b'),
    d: artifactOf('c'),
    e: artifactOf('d'),
    // Direct, and through itself: the loop adds nothing.
    self: artifactOf('self'),
    ping: artifactOf('pong'),
    pong: artifactOf('ping'),
  });
  assert.equal(found.total, 8);
  // By digest alone, the release that recorded left-pad without a uri is found too.
  assert.equal((await impactOf(loaded, { dependency: `sha256:${LEFT_PAD_SHA}` })).total, 9);
});

test('--since takes a UTC day or an ISO-8601 instant with offset, as audit list does; nothing else', async () => {
  const day = await impactOf(loaded, { dependency: LEFT_PAD, since: '2026-11-30' });
  const instant = await impactOf(loaded, { dependency: LEFT_PAD, since: '2026-11-30T00:00:00Z' });
  assert.equal(day.total, 8);
  assert.deepEqual(day.rows, instant.rows);
  // A local time without offset would mean whatever the machine's zone is; prose is a guess.
  for (const since of ['2026-11-30T00:00', 'Nov 30 2026', '30.11.2026', '2026-13-01']) {
    await assert.rejects(
      impactOf(loaded, { dependency: LEFT_PAD, since }),
      (err: unknown) => isGateError(err) && err.code === 'INPUT_INVALID',
      since,
    );
  }
  await assert.rejects(
    impactOf(loaded, { dependency: LEFT_PAD }, { cursor: 'not-a-cursor' }),
    (err: unknown) => isGateError(err) && err.code === 'INPUT_INVALID',
  );
});

interface Scan {
  table: string;
  filters: string[];
}

interface PlanNode {
  name: string;
  children: PlanNode[];
  extra_info: { Table?: string; Filters?: string | string[] };
}

/** Every table scan of a plan (`EXPLAIN (FORMAT json)`), with the filters pushed into it. */
function scansOf(nodes: PlanNode[]): Scan[] {
  return nodes.flatMap((node) => [
    ...(node.extra_info.Table === undefined
      ? []
      : [
          {
            table: node.extra_info.Table.replace(/^memory\.main\./, ''),
            filters: [node.extra_info.Filters ?? []].flat(),
          },
        ]),
    ...scansOf(node.children),
  ]);
}

/** The scans of each query `impactOf` issues for `query`. */
async function scansOfQueries(model: ReadModel, query: ImpactQuery): Promise<Scan[][]> {
  const issued: Array<[string, Parameters<ReadModel['query']>[1]]> = [];
  const spy: ReadModel = {
    ...model,
    query: (sql, params) => {
      issued.push([sql, params]);
      return model.query(sql, params);
    },
  };
  await impactOf(spy, query, { limit: 5 });
  const plans: Scan[][] = [];
  for (const [sql, params] of issued) {
    if (sql.includes('duckdb_tables()')) continue;
    const explained = await model.query(`EXPLAIN (FORMAT json) ${sql}`, params);
    plans.push(scansOf(JSON.parse(String(explained.rows[0]!.explain_value)) as PlanNode[]));
  }
  return plans;
}

const BASE_TABLES = new Set([
  'decisions',
  'dependencies',
  'attestations',
  'events',
  'source_refs',
  'decision_attestations',
  'decision_dependencies',
  'decision_signers',
  'dependency_edges',
  'decision_status',
  'publications',
]);

test('the queries impact issues read the side tables with the lookup pushed into the scan, the big tables only by the page', async () => {
  const cases: Array<[ImpactQuery, Array<[string, RegExp]>]> = [
    [
      { dependency: LEFT_PAD },
      [
        ['impact_dependency_keys', /^key='pkg:npm\/left-pad@1\.3\.0'$/],
        ['impact_dependency_uses', /dependency_no/],
      ],
    ],
    [
      { builder: `${BUILDER}@v1` },
      [
        ['impact_subjects', /kind='builder'/],
        ['impact_subject_uses', /subject_no/],
      ],
    ],
    [
      { source: 'github.com/acme/lib' },
      [
        ['impact_subjects', /kind='source'/],
        ['impact_subject_uses', /subject_no/],
      ],
    ],
    [
      { signer: SIGNER },
      [
        ['impact_subjects', /kind='signer'/],
        ['impact_subject_uses', /subject_no/],
      ],
    ],
    [
      { policy: POLICY },
      [
        ['impact_subjects', /kind='policy'/],
        ['impact_subject_uses', /subject_no/],
      ],
    ],
  ];
  for (const [query, lookups] of cases) {
    const plans = await scansOfQueries(loaded, query);
    const what = `${JSON.stringify(query)}: ${JSON.stringify(plans)}`;
    for (const [table, filter] of lookups) {
      assert.ok(
        plans.flat().some((s) => s.table === table && s.filters.some((f) => filter.test(f))),
        `${table} by ${filter} in ${what}`,
      );
    }
    // The subject lookup and the affected set read only side tables ...
    for (const scan of plans.slice(0, -1).flat()) assert.ok(!BASE_TABLES.has(scan.table), what);
    // ... and only the page's details read decisions and publications, by the page's ids.
    const details = plans.at(-1)!;
    assert.deepEqual(details.map((s) => s.table).sort(), ['decisions', 'publications'], what);
    for (const scan of details) assert.match(scan.filters.join(' '), /decision_id(=| IN \()'impact-/, what);
  }
});
/** Rows newest first, then by decision id: the order of a model loaded at once. */
function byInstantThenId(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const key = (r: Record<string, unknown>) => `${String(r.decided_at)}|${String(r.decision_id)}`;
  return rows.toSorted((a, b) =>
    String(a.decided_at) === String(b.decided_at)
      ? key(a) < key(b)
        ? -1
        : key(a) > key(b)
          ? 1
          : 0
      : String(a.decided_at) < String(b.decided_at)
        ? 1
        : -1,
  );
}

test('refreshed after a later export, a loaded model answers as one loaded afresh', async () => {
  // Half the releases, and `a` decided but not yet published; then the rest and `a`'s publish.
  const later = mkdtempSync(join(tmpdir(), 'slsa-gate-impact-refresh-'));
  const first = RELEASES.filter((_, i) => i % 2 === 0);
  await exportParquet(sourceOf(first, new Set(['a'])), later);
  const refreshed = await openReadModel(later, { load: true });
  try {
    assert.equal(
      (await impact(refreshed, { dependency: LEFT_PAD })).rows.some(
        (r) => r.decision_id === 'impact-a/run-1',
      ),
      false,
    );
    await exportParquet(sourceOf(RELEASES), later);
    assert.deepEqual(await refreshed.refresh(), { changed: true });
    for (const { query, direct, statuses, since } of QUESTIONS) {
      const expected = await loaded.query(referenceSql(direct, statuses ?? ['published'], since));
      // Decisions decided at one instant come in the order they were numbered: a refresh
      // numbers the new ones after those loaded before (docs/audit.md#impact-side-tables).
      assert.deepEqual(
        byInstantThenId((await impact(refreshed, query)).rows),
        byInstantThenId(expected.rows),
        JSON.stringify(query),
      );
    }
    const counts = await refreshed.query(
      `SELECT (SELECT count(*) FROM impact_decisions) AS numbered, (SELECT count(*) FROM decisions) AS decisions,
         (SELECT count(DISTINCT decision_no) FROM impact_decisions) AS distinct_numbers`,
    );
    assert.deepEqual(counts.rows[0], {
      numbered: String(RELEASES.length),
      decisions: String(RELEASES.length),
      distinct_numbers: String(RELEASES.length),
    });
  } finally {
    refreshed.close();
    rmSync(later, { recursive: true, force: true });
  }
});

/**
 * `npm run bench:audit [-- --n 1000000 --runs 20 --archive-n 20000]`: the auditors'
 * interactive queries over the Parquet read model at N decisions, p50/p95, and the export time.
 *
 * How the data is made (within a 2-core machine): loading N decisions into FerretDB runs at
 * a few hundred decisions per second there (100,000 took 406 s in bench:publish), so the N
 * decisions are generated in this process as the archive records the publish path writes
 * (scripts/generated-archive.ts: a seeded generator, the same archive every run) and fed to
 * the export itself
 * (`exportParquet`, through its `exportBatches` source) instead of read from the store. The
 * export from the real store is then measured separately on `--archive-n` decisions loaded
 * into FerretDB (full run, then an incremental run with nothing new), and its rate printed.
 * The queries run on the read model loaded into memory, as a long-lived API process holds it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { databaseOf, openArchive, type Archive } from '../src/archive/archive.ts';
import { sha256Digest } from '../src/archive/digest.ts';
import { decisionStatsRows, listDecisionRows } from '../src/audit/read-model/audit-queries.ts';
import { exportParquet } from '../src/audit/read-model/export-parquet.ts';
import { impactOf } from '../src/audit/read-model/impact.ts';
import { openReadModel } from '../src/audit/read-model/read-model.ts';
import {
  approvers,
  builders,
  failures,
  generatedSource,
  loadGenerated,
  policies,
  SHARED_DEPENDENCY,
  sourceRepos,
  start,
} from './generated-archive.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '20' },
    'archive-n': { type: 'string', default: '20000' },
    'mongodb-uri': { type: 'string' },
  },
});
const n = Number(values.n);
const runs = Number(values.runs);
const archiveN = Number(values['archive-n']);
if (![n, runs, archiveN].every((v) => Number.isInteger(v) && v >= 0) || n < 1 || runs < 1) {
  console.error('usage: bench-audit [--n N] [--runs R] [--archive-n M] [--mongodb-uri URI]');
  process.exit(2);
}
const uri =
  values['mongodb-uri'] ??
  process.env.MONGODB_URI ??
  `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? '27017'}/`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(name: string, query: (run: number) => Promise<{ rows: unknown[] }>) {
  await query(-1); // warm-up
  const times: number[] = [];
  let rows = 0;
  for (let run = 0; run < runs; run++) {
    const began = performance.now();
    rows = (await query(run)).rows.length;
    times.push(performance.now() - began);
  }
  times.sort((a, b) => a - b);
  const result = { name, p50: percentile(times, 50), p95: percentile(times, 95) };
  console.log(
    `${name.padEnd(28)} p50 ${result.p50.toFixed(1).padStart(8)} ms   p95 ${result.p95.toFixed(1).padStart(8)} ms   (${rows} rows)`,
  );
  return result;
}

/** `archiveN` decisions in FerretDB (with attestations and events), exported for real: full, then incremental. */
async function exportFromStore(): Promise<string> {
  if (archiveN === 0) return 'store-export=skipped';
  const archive: Archive = await openArchive(
    uri,
    `bench_audit_export_${process.pid}_${Date.now().toString(36)}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-export-'));
  try {
    const loadBegan = performance.now();
    await loadGenerated(archive, archiveN, ['decisions', 'attestations', 'events']);
    console.log(
      `store: loaded ${archiveN} decisions with their attestations and events in ${((performance.now() - loadBegan) / 1000).toFixed(1)} s`,
    );
    const full = await exportParquet(archive, dir);
    const again = await exportParquet(archive, dir);
    console.log(
      `store export: ${archiveN} decisions in ${full.seconds.toFixed(1)} s (${Math.round(archiveN / full.seconds)} decisions/s); ` +
        `incremental run with nothing new ${again.seconds.toFixed(1)} s`,
    );
    return `store-export(${archiveN})=${full.seconds.toFixed(1)}s incremental=${again.seconds.toFixed(1)}s`;
  } finally {
    await databaseOf(archive).dropDatabase();
    await archive.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-audit-'));
try {
  console.log(`bench:audit: generating ${n} decisions through the Parquet export into ${dir}`);
  const exported = await exportParquet(generatedSource(n), dir);
  console.log(
    `export of ${n} generated decisions: ${exported.seconds.toFixed(1)} s; rows ${JSON.stringify(exported.written)}`,
  );
  const loadBegan = performance.now();
  const model = await openReadModel(dir, { load: true });
  const loadSeconds = (performance.now() - loadBegan) / 1000;
  console.log(`read model loaded into memory in ${loadSeconds.toFixed(1)} s`);
  const results = [];
  try {
    const first = await listDecisionRows(model, {}, { limit: 50 });
    const last = first.rows.at(-1) as { decided_at: string; decision_id: string };
    const some = (run: number) => Math.abs(run * 7919) % n;
    results.push(
      await measure('list-newest', () => listDecisionRows(model, {}, { limit: 50 })),
      await measure('list-next-page', () =>
        listDecisionRows(
          model,
          {},
          { limit: 50, after: { decidedAt: last.decided_at, decisionId: last.decision_id } },
        ),
      ),
      await measure('list-by-digest', (run) =>
        listDecisionRows(model, { artifactDigest: sha256Digest(`artifact ${some(run)}`) }),
      ),
      await measure('list-by-builder-version', (run) =>
        listDecisionRows(model, { builderId: builders[Math.abs(run) % 20]!, builderVersion: 'v1.2' }),
      ),
      await measure('list-by-source-repo', (run) =>
        listDecisionRows(model, { sourceRepo: sourceRepos[Math.abs(run) % 500]! }),
      ),
      await measure('list-by-failing-code', (run) =>
        listDecisionRows(model, { failingCode: failures[Math.abs(run) % failures.length]![1] }),
      ),
      await measure('list-by-approver', (run) =>
        listDecisionRows(model, { approver: approvers[Math.abs(run) % 10]! }),
      ),
      await measure('list-one-day', (run) => {
        const day = new Date(start + (Math.abs(run) % 90) * 24 * 3600 * 1000);
        return listDecisionRows(model, {
          since: day.toISOString(),
          until: new Date(day.getTime() + 24 * 3600 * 1000).toISOString(),
        });
      }),
      await measure('show', (run) =>
        model.query('SELECT * FROM decisions WHERE decision_id = $id', { id: `bench-${some(run)}/run-1` }),
      ),
      await measure('stats-one-week', (run) => {
        const from = new Date(start + (Math.abs(run) % 80) * 24 * 3600 * 1000);
        return decisionStatsRows(model, {
          since: from.toISOString(),
          until: new Date(from.getTime() + 7 * 24 * 3600 * 1000).toISOString(),
        });
      }),
      await measure('stats-all', () => decisionStatsRows(model, {})),
      // Impact answers with its count and first page (`impactOf`); the dependency is the one
      // one decision in a hundred records (scripts/generated-archive.ts).
      await measure('impact-dependency-1%', () =>
        impactOf(model, { dependency: SHARED_DEPENDENCY }, { limit: 50 }),
      ),
      await measure('impact-builder-version', (run) =>
        impactOf(model, { builder: `${builders[Math.abs(run) % 20]!}@v1.2` }, { limit: 50 }),
      ),
      await measure('impact-source', (run) =>
        impactOf(model, { source: `github.com/acme/repo${Math.abs(run) % 500}` }, { limit: 50 }),
      ),
      await measure('impact-signer', (run) =>
        impactOf(
          model,
          {
            signer: `https://github.com/acme/repo${Math.abs(run) % 500}/.github/workflows/release.yml@refs/heads/main`,
          },
          { limit: 50 },
        ),
      ),
      await measure('impact-policy', (run) =>
        impactOf(
          model,
          { policy: policies[Math.abs(run) % 10]!, status: ['published', 'denied'] },
          { limit: 50 },
        ),
      ),
    );
  } finally {
    model.close();
  }
  const store = await exportFromStore();
  const worst = Math.max(...results.map((r) => r.p95));
  console.log(
    `bench:audit n=${n} runs=${runs} export=${exported.seconds.toFixed(1)}s load=${loadSeconds.toFixed(1)}s ${store} ` +
      results.map((r) => `${r.name} p50=${r.p50.toFixed(1)}ms p95=${r.p95.toFixed(1)}ms`).join(' ') +
      ` worst-p95=${worst.toFixed(1)}ms goal<=50ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

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
import {
  decisionStatsRows,
  listDecisionRows,
  showDecisionRow,
} from '../src/audit/read-model/audit-queries.ts';
import { exportParquet, readExportState } from '../src/audit/read-model/export-parquet.ts';
import { impactOf } from '../src/audit/read-model/impact.ts';
import { openReadModel } from '../src/audit/read-model/read-model.ts';
import {
  auditBenchQueries,
  figuresLine,
  measureQueries,
  type AuditQueryTarget,
  type Measured,
} from './audit-bench-queries.ts';
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
    /** Keep the exported read model in DIR and reuse it on the next run (same --n). */
    dir: { type: 'string' },
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

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'slsa-gate-bench-audit-'));
try {
  const reused = readExportState(dir)?.database === generatedSource(n).databaseName;
  console.log(
    reused
      ? `bench:audit: reusing ${n} generated decisions exported earlier into ${dir}`
      : `bench:audit: generating ${n} decisions and loading them through the Parquet exporter (exportParquet) into ${dir}`,
  );
  const exported = reused ? { seconds: NaN, written: {} } : await exportParquet(generatedSource(n), dir);
  console.log(
    `export of ${n} generated decisions: ${reused ? 'not measured (reused)' : `${exported.seconds.toFixed(1)} s`}; rows ${JSON.stringify(exported.written)}`,
  );
  const loadBegan = performance.now();
  const model = await openReadModel(dir, { load: true });
  const loadSeconds = (performance.now() - loadBegan) / 1000;
  console.log(`read model loaded into memory in ${loadSeconds.toFixed(1)} s`);
  let results: Measured[];
  try {
    const target: AuditQueryTarget = {
      list: (filters, limit) => listDecisionRows(model, filters, { limit }),
      async nextPage(filters, limit) {
        const last = (await listDecisionRows(model, filters, { limit })).rows.at(-1) as {
          decided_at: string;
          decision_id: string;
        };
        const after = { decidedAt: last.decided_at, decisionId: last.decision_id };
        return () => listDecisionRows(model, filters, { limit, after });
      },
      show: (id) => showDecisionRow(model, id),
      stats: (filters) => decisionStatsRows(model, filters),
      // `audit impact`'s answer: the count of affected releases and their first page.
      impact: (query) => impactOf(model, query, { limit: 50 }),
    };
    results = await measureQueries(
      auditBenchQueries({
        n,
        decisionId: (i) => `bench-${i}/run-1`,
        artifactDigest: (i) => sha256Digest(`artifact ${i}`),
        builders,
        sourceRepos,
        approvers,
        failingCodes: failures.map(([, code]) => code),
        policies,
        start,
        sharedDependency: SHARED_DEPENDENCY,
        signers: sourceRepos.map(
          (repo) => `${repo.replace(/^git\+/, '')}/.github/workflows/release.yml@refs/heads/main`,
        ),
      }),
      target,
      runs,
    );
  } finally {
    model.close();
  }
  const store = await exportFromStore();
  console.log(
    `bench:audit n=${n} runs=${runs} source=generated-through-exportParquet ` +
      `export=${reused ? 'reused' : `${exported.seconds.toFixed(1)}s`} load=${loadSeconds.toFixed(1)}s ${store} ` +
      figuresLine(results),
  );
} finally {
  if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
}

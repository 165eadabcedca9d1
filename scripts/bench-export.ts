/**
 * `npm run bench:export [-- --n 1000000 --store-n 20000]`: how fast the read-model export runs.
 *
 * 1. `--n` generated decisions (scripts/generated-archive.ts, the archive bench:audit queries)
 *    exported to Parquet: the engine's own speed, the generator included.
 * 2. `--store-n` of the same decisions loaded into the store (insertMany of the stored
 *    documents; 0 skips), then: the raw scan rate of the exported collections (a cursor over
 *    each, all at once, nothing done with the documents: the store's ceiling), a full export
 *    from the store, an incremental run with nothing new, and how many store commands it sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  collectionsOf,
  databaseOf,
  EXPORTED_COLLECTIONS,
  openArchive,
  type Archive,
} from '../src/archive/archive.ts';
import { exportParquet } from '../src/audit/read-model/export-parquet.ts';
import { generatedSource, loadGenerated } from './generated-archive.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    'store-n': { type: 'string', default: '20000' },
    'mongodb-uri': { type: 'string' },
  },
});
const n = Number(values.n);
const storeN = Number(values['store-n']);
if (![n, storeN].every((v) => Number.isInteger(v) && v >= 0)) {
  console.error('usage: bench-export [--n N] [--store-n M] [--mongodb-uri URI]');
  process.exit(2);
}
const uri =
  values['mongodb-uri'] ??
  process.env.MONGODB_URI ??
  `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? '27017'}/`;

const seconds = (since: number) => (performance.now() - since) / 1000;
const rate = (count: number, s: number) => Math.round(count / s).toLocaleString('en-US');

async function generated(): Promise<void> {
  if (n === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-export-'));
  try {
    const cpuBefore = process.cpuUsage();
    const report = await exportParquet(generatedSource(n), dir);
    const cpu = process.cpuUsage(cpuBefore);
    const rows = Object.values(report.written).reduce((a, b) => a + b, 0);
    // CPU time of the whole process (the generator, JavaScript and DuckDB's threads): on a
    // shared machine the wall time says as much about the neighbours as about the export.
    console.log(
      `generated: ${n} decisions exported in ${report.seconds.toFixed(1)} s ` +
        `(${rate(n, report.seconds)} decisions/s, ${rows} rows, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, ` +
        `load ${loadavg()[0]!.toFixed(1)}; goal <= 60 s at 1,000,000)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads every document of the exported collections, all at once, and does nothing with them. */
async function rawScan(archive: Archive): Promise<number> {
  const c = collectionsOf(archive);
  const counts = await Promise.all(
    EXPORTED_COLLECTIONS.map(async (collection) => {
      let count = 0;
      const projection = collection === 'vsas' ? { raw: 0 } : {};
      for await (const _ of c[collection].find({}, { projection }).batchSize(2000)) count++;
      return count;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function fromStore(): Promise<void> {
  if (storeN === 0) return;
  let commands = 0;
  let counting = false;
  const archive = await openArchive(uri, `bench_export_${process.pid}_${Date.now().toString(36)}`, {
    onCommand: () => {
      if (counting) commands++;
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-export-store-'));
  try {
    const loadBegan = performance.now();
    await loadGenerated(archive, storeN);
    console.log(
      `store: loaded ${storeN} decisions with every record they left in ${seconds(loadBegan).toFixed(1)} s`,
    );
    const scanBegan = performance.now();
    const documents = await rawScan(archive);
    const scanSeconds = seconds(scanBegan);
    console.log(
      `store: raw scan of the exported collections: ${documents} documents in ${scanSeconds.toFixed(1)} s ` +
        `(${rate(documents, scanSeconds)} documents/s, ${rate(storeN, scanSeconds)} decisions/s: the store's ceiling)`,
    );
    const full = await exportParquet(archive, dir);
    console.log(
      `store: full export (${full.mode}) of ${storeN} decisions in ${full.seconds.toFixed(1)} s (${rate(storeN, full.seconds)} decisions/s)`,
    );
    counting = true;
    const again = await exportParquet(archive, dir);
    counting = false;
    const written = Object.values(again.written).reduce((a, b) => a + b, 0);
    console.log(
      `store: incremental run (${again.mode}) with nothing new in ${again.seconds.toFixed(2)} s, ${commands} store commands, ${written} rows written`,
    );
  } finally {
    await databaseOf(archive).dropDatabase();
    await archive.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await generated();
await fromStore();

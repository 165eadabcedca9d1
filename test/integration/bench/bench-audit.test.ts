/**
 * Smoke runs of both audit benches at a tiny size: `bench:audit` (the named queries over the
 * read model, loaded through the exporter from the generator, plus the export from the real
 * store) and `bench:audit:store` (the same named queries over the store). Each must finish
 * and print every query's p50/p95; speed itself is measured only by the benches
 * (docs/benchmarks.md); nothing here is timed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureServices, services } from '../../helpers/services.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

async function bench(script: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, MONGODB_URI: services.mongoUri },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The names of the queries a bench printed p50/p95 for. */
const measured = (stdout: string) =>
  [...stdout.matchAll(/^(\S+)\s+p50\s+[\d.]+ ms\s+p95\s+[\d.]+ ms/gm)].map((m) => m[1]!);

test('bench:audit and bench:audit:store run the same named queries at a tiny size and print their figures', async () => {
  ensureServices();
  const model = await bench('scripts/bench-audit.ts', ['--n', '300', '--runs', '1', '--archive-n', '20']);
  assert.match(model, /through the Parquet exporter/);
  assert.match(model, /^export of 300 generated decisions: [\d.]+ s/m);
  assert.match(model, /^store export: 20 decisions in [\d.]+ s/m);
  assert.match(model, /^bench:audit n=300 runs=1 .* worst-p95=[\d.]+ms goal<=50ms$/m);
  const store = await bench('scripts/bench-audit-store.ts', ['--n', '300', '--runs', '1']);
  assert.match(store, /^bench:audit store=".*" n=300 runs=1 .* worst-p95=[\d.]+ms/m);

  const onModel = measured(model);
  const onStore = measured(store);
  for (const name of [
    'list-newest',
    'list-next-page',
    'list-by-approver',
    'list-one-day',
    'show',
    'stats-all',
  ])
    assert.ok(onModel.includes(name), `bench:audit measured ${name}`);
  assert.ok(
    onModel.some((n) => n.startsWith('impact-')),
    'bench:audit measured impact',
  );
  // The store has no impact analysis; every other query is the same list, in the same order.
  assert.deepEqual(
    onStore,
    onModel.filter((n) => !n.startsWith('impact-')),
  );
});

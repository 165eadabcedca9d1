/**
 * Smoke run of `npm run bench:verify` at a tiny size: it completes and prints its three figures
 * (cold, plain @sigstore/verify, the crypto floor) and the acceptance line. Speed itself is
 * measured only by the bench (docs/benchmarks.md#verify); nothing here is timed. The bulk
 * figure needs the store: its smoke run is test/integration/bench/bench-verify-bulk.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

test('bench:verify runs at a tiny size and prints cold, plain and floor figures', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench-verify.ts', '--no-write'],
    {
      cwd: ROOT,
      env: { ...process.env, BENCH_VERIFY_ROUNDS: '1', BENCH_VERIFY_BATCH: '4', BENCH_VERIFY_BULK: '0' },
    },
  );
  const figure = (row: string) => new RegExp(`^\\| ${row}[^|]*\\| [\\d,]+ \\| \\d+ \\|`, 'm');
  assert.match(stdout, figure('cold verification'));
  assert.match(stdout, figure('plain @sigstore/verify'));
  assert.match(stdout, figure('floor'));
  assert.match(stdout, /^Acceptance .*: (meets|below|misses)/m);
  assert.doesNotMatch(stdout, /written to/);
});

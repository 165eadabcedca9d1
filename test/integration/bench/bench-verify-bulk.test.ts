/**
 * Smoke run of the bulk part of `npm run bench:verify` at a tiny size, against the real store:
 * it archives the attestations, verifies them with one job and with one thread per core, and
 * prints both figures and the in-hand bound. Speed itself is measured only by the bench
 * (docs/benchmarks.md#verify); nothing here is timed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureServices, services } from '../../helpers/services.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

test('bench:verify runs its bulk part at a tiny size and prints one-job and all-core figures', async () => {
  ensureServices();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench-verify.ts', '--no-write'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        MONGODB_URI: services.mongoUri,
        BENCH_VERIFY_ROUNDS: '1',
        BENCH_VERIFY_BATCH: '4',
        BENCH_VERIFY_BULK: '24',
      },
    },
  );
  assert.match(stdout, /^Bulk `audit reverify` over 24 archived attestations/m);
  assert.match(stdout, /^\| 1 \(in the thread that reads the store\) \| [\d,]+ \| 1 \|$/m);
  assert.match(stdout, /^\| \d+ \(worker threads\) \| [\d,]+ \| \d+\.\d\d× \|$/m);
  assert.match(stdout, /^At most \d+ attestations were in hand at once/m);
  assert.doesNotMatch(stdout, /written to/);
});

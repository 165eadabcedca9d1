/**
 * Smoke run of `npm run bench:export` at a tiny size, against the real store: it exports
 * generated decisions, loads a few into the store, scans them raw, exports them and runs an
 * incremental export with nothing new, and prints each figure. Speed itself is measured only
 * by the bench (docs/audit.md#measured); nothing here is timed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NUMBER, runBench } from '../../helpers/bench-smoke.ts';
import { ensureServices, services } from '../../helpers/services.ts';

test('bench:export runs at a tiny size and prints the generated, raw-scan, store and incremental figures', async () => {
  ensureServices();
  const stdout = await runBench('scripts/bench-export.ts', ['--n', '200', '--store-n', '50'], {
    MONGODB_URI: services.mongoUri,
  });
  const n = NUMBER;
  assert.match(
    stdout,
    new RegExp(
      `^generated: 200 decisions exported in ${n} s \\(${n} decisions/s, ${n} rows, ${n} s CPU`,
      'm',
    ),
  );
  assert.match(
    stdout,
    new RegExp(`^store: raw scan of the exported collections: ${n} documents in ${n} s`, 'm'),
  );
  assert.match(stdout, new RegExp(`^store: full export \\(scan\\) of 50 decisions in ${n} s`, 'm'));
  assert.match(
    stdout,
    new RegExp(
      `^store: incremental run \\(feed\\) with nothing new in ${n} s, ${n} store commands, 0 rows written$`,
      'm',
    ),
  );
});

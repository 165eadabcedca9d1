/**
 * Smoke run of `npm run bench:export` at a tiny size, against the real store: it exports
 * generated decisions, loads a few into the store, scans them raw, exports them and runs an
 * incremental export with nothing new, and prints each figure. Speed itself is measured only
 * by the bench (docs/audit.md#measured); nothing here is timed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureServices, services } from '../../helpers/services.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

test('bench:export runs at a tiny size and prints the generated, raw-scan, store and incremental figures', async () => {
  ensureServices();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench-export.ts', '--n', '200', '--store-n', '50'],
    { cwd: ROOT, env: { ...process.env, MONGODB_URI: services.mongoUri } },
  );
  assert.match(stdout, /^generated: 200 decisions exported in [\d.]+ s \([\d,]+ decisions\/s, \d+ rows/m);
  assert.match(stdout, /^store: raw scan of the exported collections: \d+ documents in [\d.]+ s/m);
  assert.match(stdout, /^store: full export \(scan\) of 50 decisions in [\d.]+ s/m);
  assert.match(
    stdout,
    /^store: incremental run \(feed\) with nothing new in [\d.]+ s, \d+ store commands, 0 rows written$/m,
  );
});

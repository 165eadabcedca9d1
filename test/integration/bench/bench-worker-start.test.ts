/**
 * Smoke run of `npm run bench:worker-start` at a tiny size (one start of each): the built
 * worker (bin/slsa-gate.js with the prebuilt workflow bundle, built by scripts/test.sh before
 * the runner) and, as the npm script asks with --compare-sources, the worker from the sources,
 * each started against the real services until ready and its time and CPU printed. The
 * `npm pack` install the bench measures by default is covered by
 * test/integration/package/npm-pack.test.ts. Nothing here is timed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { NUMBER, ROOT, runBench } from '../../helpers/bench-smoke.ts';
import { ensureServices } from '../../helpers/services.ts';

test('bench:worker-start starts each worker once and prints its ready time and CPU', async () => {
  ensureServices();
  const stdout = await runBench('scripts/bench-worker-start.ts', [
    '--cli',
    join(ROOT, 'bin/slsa-gate.js'),
    '--iterations',
    '1',
    '--compare-sources',
    '--no-write',
  ]);
  const row = (worker: string) => new RegExp(`^\\| ${worker} \\| ${NUMBER} \\| ${NUMBER} \\|$`, 'm');
  assert.match(stdout, row('`slsa-gate worker` \\(`[^`]*/bin/slsa-gate\\.js`, prebuilt workflow bundle\\)'));
  assert.match(stdout, row('`node --import tsx src/workers/main.ts` \\(sources, webpack at start\\)'));
  assert.doesNotMatch(stdout, /written to/);
});

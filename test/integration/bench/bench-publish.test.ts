/**
 * Smoke run of `npm run bench:publish` at a tiny size (200 archived decisions, one timed
 * publish per side after the warm-up) against the real Temporal server, registry and store:
 * every publish ends PUBLISHED (the bench stops at the first that does not), and the load time,
 * each side's p50 and p95 and their ratio are printed. Speed itself is measured only by the
 * bench (docs/benchmarks.md#publish); nothing here is timed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NUMBER, runBench } from '../../helpers/bench-smoke.ts';
import { ensureServices } from '../../helpers/services.ts';

test('bench:publish runs at a tiny size and prints both medians and their ratio', async () => {
  ensureServices();
  const stdout = await runBench('scripts/bench-publish.ts', [
    '--archived',
    '200',
    '--publishes',
    '1',
    '--no-write',
  ]);
  assert.match(stdout, new RegExp(`^loaded 200 decisions in ${NUMBER} s$`, 'm'));
  for (const side of ['empty', 'full ']) {
    assert.match(stdout, new RegExp(`^${side} v1\\.0\\.0 +${NUMBER} ms \\(warm-up\\)$`, 'm'));
    assert.match(stdout, new RegExp(`^${side} v1\\.0\\.1 +${NUMBER} ms$`, 'm'));
  }
  assert.match(
    stdout,
    new RegExp(
      `^bench:publish store="[^"]+" archived=200 publishes=1 empty p50=${NUMBER}ms p95=${NUMBER}ms ` +
        `full p50=${NUMBER}ms p95=${NUMBER}ms ratio\\(p50 full/empty\\)=${NUMBER} goal<=1\\.2$`,
      'm',
    ),
  );
  assert.match(stdout, new RegExp(`^\\| empty \\| ${NUMBER} \\| ${NUMBER} \\|$`, 'm'));
  assert.match(stdout, new RegExp(`^\\| 200 archived decisions \\| ${NUMBER} \\| ${NUMBER} \\|$`, 'm'));
  assert.match(
    stdout,
    new RegExp(`^Ratio of the medians \\(archived / empty\\): \\*\\*${NUMBER}\\*\\*`, 'm'),
  );
  assert.doesNotMatch(stdout, /written to/);
});

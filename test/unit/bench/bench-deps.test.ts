/**
 * Smoke run of `npm run bench:deps` at a tiny size (20 dependencies): it resolves them through
 * the HTTP store attestor against its loopback store process and prints every figure, cold,
 * warm and one after another, on loopback and with a delay per answer. Speed itself is
 * measured only by the bench; nothing here is timed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NUMBER, runBench } from '../../helpers/bench-smoke.ts';

test('bench:deps runs at a tiny size and prints cold, warm and sequential figures at both latencies', async () => {
  const stdout = await runBench('scripts/bench-deps.ts', [], { BENCH_DEPS: '20', BENCH_LATENCY_MS: '5' });
  for (const latency of ['0ms', '5ms']) {
    for (const run of ['cold', 'warm', 'sequential']) {
      const line = `^${run} \\(latency ${latency}\\) +20 deps +${NUMBER} ms +${NUMBER} deps/s  lookups \\d+  cache hits \\d+$`;
      assert.match(stdout, new RegExp(line, 'm'));
    }
  }
  const figures = (latency: string) =>
    `\\[latency ${latency}\\] cold=${NUMBER}ms/${NUMBER}deps/s warm=${NUMBER}ms/${NUMBER}deps/s ` +
    `sequential=${NUMBER}ms/${NUMBER}deps/s cold-vs-sequential=${NUMBER}x warm-vs-cold=${NUMBER}x ` +
    `warm-vs-sequential=${NUMBER}x`;
  assert.match(
    stdout,
    new RegExp(`^bench:deps deps=20 concurrency=16 ${figures('0ms')} ${figures('5ms')}$`, 'm'),
  );
});

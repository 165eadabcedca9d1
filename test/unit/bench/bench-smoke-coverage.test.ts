/**
 * Every `bench:*` npm script has a smoke run in `npm test` (docs/benchmarks.md): a test that
 * runs the bench's entry point at a tiny size. A bench no test runs breaks unnoticed, and the
 * figure docs/benchmarks.md gives for it can no longer be reproduced.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../helpers/bench-smoke.ts';

test('every bench:* npm script has a test that runs its entry point', () => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const tests = readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(ROOT, 'test', f), 'utf8'));
  const benches = Object.entries(scripts).filter(([name]) => name.startsWith('bench:'));
  assert.ok(benches.length > 0, 'package.json has no bench:* script');
  const unsmoked = benches.flatMap(([name, command]) => {
    const entry = /scripts\/(bench-[\w-]+\.ts)/.exec(command)?.[1];
    if (entry === undefined) return [`${name}: no scripts/bench-*.ts entry point in "${command}"`];
    return tests.some((text) => text.includes(entry)) ? [] : [`${name}: no test runs scripts/${entry}`];
  });
  assert.deepEqual(unsmoked, [], 'bench scripts without a smoke run in npm test');
});

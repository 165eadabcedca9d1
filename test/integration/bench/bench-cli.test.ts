/**
 * Smoke run of `npm run bench:cli` at a tiny size (one timed round): `slsa-gate verify` as a
 * whole process against cosign and slsa-verifier on the same inputs, each command's median and
 * its ratio to the other tool printed. The slsa-gate measured is the checkout's built CLI
 * (bin/slsa-gate.js, built by scripts/test.sh before the runner) rather than an `npm pack`
 * install, which test/integration/package/npm-pack.test.ts covers; the consumers' tools are the
 * ones scripts/test.sh builds into .tools/interop. Nothing here is timed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { NUMBER, ROOT, runBench } from '../../helpers/bench-smoke.ts';
import { interopTools } from '../../helpers/interop-tools.ts';

test('bench:cli runs one round and prints slsa-gate, cosign and slsa-verifier figures', async () => {
  interopTools(); // throws, naming the fix, when scripts/interop-tools.sh has not built them
  const stdout = await runBench('scripts/bench-cli.ts', [
    '--cli',
    join(ROOT, 'bin/slsa-gate.js'),
    '--iterations',
    '1',
    '--no-write',
  ]);
  const row = (command: string, vs: string) =>
    new RegExp(`^\\| ${command} \\| ${NUMBER} \\| ${NUMBER} \\| ${vs} \\| ${vs} \\|$`, 'm');
  const ratio = `${NUMBER}×`;
  assert.match(stdout, row('slsa-gate verify \\(bundle\\)', ratio));
  assert.match(stdout, row('cosign verify-blob-attestation', '1×'));
  assert.match(stdout, row('slsa-gate verify --mode vsa', ratio));
  assert.match(stdout, row('slsa-verifier verify-vsa', '1×'));
  assert.match(stdout, new RegExp(`^For scale: \`node -e 0\` took ${NUMBER} ms wall, ${NUMBER} ms CPU`, 'm'));
  assert.doesNotMatch(stdout, /written to/);
});

/** One table of exit codes: the CLI's (src/cli/exit-codes.ts), the CI client's and docs/ci.md#exit-codes agree. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EXIT, exitCodeOf, exitCodeOfResult } from '../../../src/cli/exit-codes.ts';
import { ERROR_CODES, ERRORS } from '../../../src/core/errors.ts';

test('the CLI, the CI client and docs/ci.md state the same exit codes', async () => {
  // The CI client is plain JavaScript run by CI jobs without this package; its table is read as it runs.
  const ci = (await import(new URL('../../../ci/slsa-gate-request.mjs', import.meta.url).href)) as {
    EXIT: Record<string, number>;
  };
  assert.deepEqual({ ...ci.EXIT }, { ...EXIT });
  const doc = readFileSync(new URL('../../../docs/ci.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const rows = [...section.matchAll(/^\| (\d) +\| `(\w+)` +\|/gm)].map(([, exit, name]) => [
    name,
    Number(exit),
  ]);
  assert.deepEqual(Object.fromEntries(rows), { ...EXIT });
});

test('every error code has an exit code by its layer: infrastructure is never "denied"', () => {
  for (const code of ERROR_CODES) {
    const exit = exitCodeOf(code);
    assert.ok(Object.values(EXIT).includes(exit as never), code);
    if (ERRORS[code].layer === 'infrastructure') assert.equal(exit, EXIT.UNAVAILABLE, code);
    if (ERRORS[code].layer === 'input') assert.equal(exit, EXIT.INPUT, code);
  }
  assert.equal(exitCodeOf('REGISTRY_UNAVAILABLE'), 4);
  assert.equal(exitCodeOf('ARCHIVE_UNAVAILABLE'), 4);
  assert.equal(exitCodeOf('UNTRUSTED_SIGNER'), 1);
  assert.equal(exitCodeOf('CANCELLED'), 5);
  assert.equal(exitCodeOf('TERMINATED'), 5);
  assert.equal(exitCodeOfResult({ status: 'CANCELLED' }), 5);
  assert.equal(exitCodeOfResult({ status: 'DENIED' }), 1);
  assert.equal(exitCodeOfResult({ status: 'PUBLISHED' }), 0);
});

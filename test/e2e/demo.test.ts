/**
 * `npm run demo`'s core against the real services: a real worker, the real CLI, the real
 * registry and store, and the loopback attestation store the worker's http-store attestor
 * asks for Source and dependency VSAs. The five candidates end as the README says, each
 * denial on the check and resource it names, and checks 3 and 5 rest on the attested levels.
 * One run of the demo serves every assertion (it publishes five images).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DEMO_MIN_DEPENDENCY_LEVEL,
  DEMO_MIN_SOURCE_LEVEL,
  LOW_DEPENDENCY,
  runDemo,
  type DemoResult,
} from '../../scripts/demo-run.ts';
import { ensureServices, services } from '../helpers/services.ts';

let result: DemoResult;
const printed: string[] = [];

before(async () => {
  ensureServices();
  result = await runDemo({
    root: fileURLToPath(new URL('../..', import.meta.url)),
    registryHost: new URL(services.registryUrl).host,
    dataDir: mkdtempSync(join(tmpdir(), 'slsa-gate-demo-')),
    print: (text) => printed.push(text),
  });
});

test('the five candidates end published, denied, published, denied on check 5, denied on check 3', () => {
  const output = printed.join('\n');
  assert.deepEqual(
    result.rows.map((r) => [r.candidate, r.outcome, r.failingCheck]),
    [
      ['1 correctly built', 'published', '-'],
      ['2 tampered provenance', 'denied', 'provenance SIGNATURE_ERROR'],
      ['3 approved', 'published', '-'],
      ['4 dependency below minimum', 'denied', 'dependencies DEP_LEVEL_INSUFFICIENT'],
      ['5 source at L1', 'denied', 'source SOURCE_LEVEL_INSUFFICIENT'],
    ],
    output,
  );
  assert.ok(
    result.expectations.every((e) => e.ok),
    result.expectations.map((e) => `${e.ok ? 'ok' : 'FAILED'} ${e.what}`).join('\n'),
  );
  assert.equal(result.ok, true);
});

test('each denial names its resource: the rejected attestation, the dependency, the source revision', () => {
  const [, tampered, , lowDependency, lowSource] = result.rows;
  assert.match(tampered?.resource ?? '', /^oci:\/\/.*\/staging\/demo-tampered-.*\.att\/sha256:[0-9a-f]{64}$/);
  assert.equal(lowDependency?.resource, `${LOW_DEPENDENCY.uri} is L${LOW_DEPENDENCY.level}`);
  assert.match(
    lowSource?.resource ?? '',
    /^git\+https:\/\/github\.com\/example\/app@refs\/tags\/v1\.1\.0 \([0-9a-f]{40}\)$/,
  );
  // The closing table carries them.
  const table = printed.join('\n').slice(printed.join('\n').lastIndexOf('CANDIDATE'));
  for (const row of result.rows) assert.ok(table.includes(row.resource), `${row.resource} in\n${table}`);
});

test('checks 3 and 5 pass on the attested levels, not skipped, for the published candidates', () => {
  // The CLI prints each run's checks with audit show's table: CHECK RESULT CODE LEVEL REASON.
  const output = printed.join('\n');
  const passes = (check: string, level: number) =>
    output.match(new RegExp(`^ {2}${check} +PASS +${level} +`, 'gm'))?.length ?? 0;
  // Printed for candidate 1, for 3 at its publish, approval and status, and for 4 (check 3) or 5 (check 5).
  assert.ok(passes('source', DEMO_MIN_SOURCE_LEVEL) >= 3, output);
  assert.ok(passes('dependencies', DEMO_MIN_DEPENDENCY_LEVEL) >= 3, output);
  assert.doesNotMatch(output, /^ {2}(source|dependencies) +SKIPPED/m);
});

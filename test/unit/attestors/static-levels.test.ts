import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveLevels } from '../../../src/attestors/resolve-levels.ts';
import { createStaticLevelsAttestor } from '../../../src/attestors/static-levels.ts';
import { isGateError } from '../../../src/core/errors.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';

const REPO = 'git+https://github.com/acme/app';
const COMMIT = 'c'.repeat(40);
const DIGEST = 'd'.repeat(64);

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'static-levels-')), 'levels.yaml');
  writeFileSync(path, text);
  return path;
}

const YAML = `
sources:
  - repo: ${REPO}
    refs: [refs/heads/main]
    level: 2
    reason: branch protection reviewed by hand
dependencies:
  - uri: pkg:npm/old@1.0.0
    digest: { sha256: ${DIGEST} }
    level: 1
    reason: vendored before attestations existed
  - digest: { sha256: ${'e'.repeat(64)} }
    level: 3
    reason: expired entry
    expires: 2020-01-01T00:00:00Z
`;

const provenance: Provenance = {
  predicateType: 'https://slsa.dev/provenance/v1',
  builder: { id: 'b', name: 'b' },
  buildType: 't',
  externalParameters: {},
  source: { uri: REPO, ref: 'refs/heads/main', commit: COMMIT },
  resolvedDependencies: [
    { uri: 'pkg:npm/old@1.0.0', digest: { sha256: DIGEST } },
    { uri: 'pkg:npm/gone@1.0.0', digest: { sha256: 'e'.repeat(64) } },
  ],
  subjects: [],
};

test('static levels resolve sources and dependencies, marked static; expired entries do not apply', async () => {
  const attestor = createStaticLevelsAttestor({ file: file(YAML) });
  const r = await resolveLevels(provenance, { attestors: [attestor] });
  assert.deepEqual(
    r.levels.sources?.map((s) => [s.level, s.method]),
    [[2, 'static']],
  );
  assert.deepEqual(
    r.levels.dependencies?.map((d) => [d.uri, d.level, d.method]),
    [['pkg:npm/old@1.0.0', 1, 'static']],
  );
  assert.match(r.levels.dependencies![0]!.evidence[0]!, /^sha256:[0-9a-f]{64}$/);
  const gone = r.resources.find(
    (x) => x.resource.kind === 'purl' && x.resource.purl === 'pkg:npm/gone@1.0.0',
  );
  assert.equal(gone?.level, 0);
  assert.ok(gone?.reasons.some((x) => x.code === 'NO_ATTESTATION' && x.message.includes('expired')));
  assert.deepEqual(r.dependencyLevels, { SLSA_BUILD_LEVEL_1: 1, SLSA_BUILD_LEVEL_0: 1 });
});

test('a static source entry holds only for its refs', async () => {
  const attestor = createStaticLevelsAttestor({ file: file(YAML) });
  const answer = await attestor.lookup({ kind: 'git', repo: REPO, commit: COMMIT, ref: 'refs/heads/dev' });
  assert.equal(answer.status, 'not-found');
});

test('the static levels file is strict', () => {
  for (const bad of [
    'sources: [{ repo: https://github.com/acme/app, refs: [main], level: 2, reason: x }]',
    `dependencies: [{ digest: {}, level: 2, reason: x }]`,
    `dependencies: [{ digest: { sha256: ${DIGEST} }, level: 5, reason: x }]`,
    `dependencies: [{ digest: { sha256: ${DIGEST} }, level: 2 }]`,
    `dependencies: [{ digest: { sha256: ${DIGEST} }, level: 2, reason: x, levle: 3 }]`,
    'sources: [',
  ]) {
    assert.throws(
      () => createStaticLevelsAttestor({ file: file(bad) }),
      (e) => isGateError(e) && e.code === 'CONFIG_INVALID',
      bad,
    );
  }
});

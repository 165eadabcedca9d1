/** docs/checklist.md#row-21 and docs/checklist.md#row-22: version tags come from their own tag; nothing older replaces what was published. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { checkRollback, compareSemver, targetTag } from '../../../src/core/policy/guards/rollback.ts';

const artifact = { digests: { sha256: 'aa'.repeat(32) } };
const other = `sha256:${'bb'.repeat(32)}`;

function provenance(ref: string, buildFinishedOn?: string): Provenance {
  const p: Provenance = {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    source: { uri: 'git+https://github.com/o/r', ref, commit: 'c' },
    resolvedDependencies: [],
    subjects: [],
  };
  if (buildFinishedOn !== undefined) p.buildFinishedOn = buildFinishedOn;
  return p;
}

test('targetTag and compareSemver', () => {
  assert.equal(targetTag('127.0.0.1:5000/app:v1.2.3'), 'v1.2.3');
  assert.equal(targetTag('127.0.0.1:5000/app'), undefined);
  assert.equal(compareSemver('v1.2.3', 'v1.2.2'), 1);
  assert.equal(compareSemver('v1.2.3-rc.1', 'v1.2.3'), -1);
  assert.equal(compareSemver('v1.10.0', 'v1.9.9'), 1);
  assert.equal(compareSemver('latest', 'v1.0.0'), undefined);
});

test('first publish and re-publishing the same artifact pass', () => {
  assert.equal(
    checkRollback({ target: 'r/app:v1.2.3', artifact, provenance: provenance('refs/tags/v1.2.3') }).result,
    'PASS',
  );
  const last = { target: 'r/app:latest', artifactDigest: `sha256:${'aa'.repeat(32)}`, version: 'v1.2.3' };
  assert.equal(
    checkRollback({ target: 'r/app:latest', artifact, provenance: provenance('refs/tags/v1.2.3'), last })
      .result,
    'PASS',
  );
});

test('docs/checklist.md#row-21: tag v1.2.3 from provenance ref refs/tags/v1.2.2 or refs/heads/x is REF_MISMATCH', () => {
  for (const ref of ['refs/tags/v1.2.2', 'refs/heads/x', 'refs/tags/v1.2.3-evil']) {
    const c = checkRollback({ target: 'r/app:v1.2.3', artifact, provenance: provenance(ref) });
    assert.equal(c.result, 'FAIL');
    assert.equal(c.code, 'REF_MISMATCH');
  }
});

test('docs/checklist.md#row-22: an older version replayed onto latest is ROLLBACK; a newer one passes', () => {
  const last = { target: 'r/app:latest', artifactDigest: other, version: 'v1.3.0' };
  const old = checkRollback({
    target: 'r/app:latest',
    artifact,
    provenance: provenance('refs/tags/v1.2.9'),
    last,
  });
  assert.equal(old.code, 'ROLLBACK');
  const same = checkRollback({
    target: 'r/app:latest',
    artifact,
    provenance: provenance('refs/tags/v1.3.0'),
    last,
  });
  assert.equal(same.code, 'ROLLBACK');
  const newer = checkRollback({
    target: 'r/app:latest',
    artifact,
    provenance: provenance('refs/tags/v1.3.1'),
    last,
  });
  assert.equal(newer.result, 'PASS');
});

test('docs/checklist.md#row-22: v1.0.0-rc.9 after v1.0.0-rc.10 is ROLLBACK (SemVer 2.0.0 §11); rc.11 passes', () => {
  // The attacker's candidate: a valid, older build from tag v1.0.0-rc.9, replayed onto `next`
  // after rc.10 was published there. As text "rc.9" sorts after "rc.10".
  const last = { target: 'r/app:next', artifactDigest: other, version: 'v1.0.0-rc.10' };
  for (const [tag, result] of [
    ['v1.0.0-rc.9', 'FAIL'],
    ['v1.0.0-rc.11', 'PASS'],
  ]) {
    const c = checkRollback({
      target: 'r/app:next',
      artifact,
      provenance: provenance(`refs/tags/${tag}`),
      last,
    });
    assert.equal(c.result, result, tag);
    if (result === 'FAIL') assert.equal(c.code, 'ROLLBACK');
  }
});

test('docs/checklist.md#row-22: branch builds compare build or signing times; unknown order fails closed', () => {
  const last = { target: 'r/app:main', artifactDigest: other, builtAt: '2026-01-02T00:00:00Z' };
  const older = checkRollback({
    target: 'r/app:main',
    artifact,
    provenance: provenance('refs/heads/main', '2026-01-01T00:00:00Z'),
    last,
  });
  assert.equal(older.code, 'ROLLBACK');
  const newer = checkRollback({
    target: 'r/app:main',
    artifact,
    provenance: provenance('refs/heads/main'),
    signedAt: '2026-01-03T00:00:00Z',
    last,
  });
  assert.equal(newer.result, 'PASS');
  const unknown = checkRollback({
    target: 'r/app:main',
    artifact,
    provenance: provenance('refs/heads/main'),
    last,
  });
  assert.equal(unknown.code, 'ROLLBACK');
});

/** `slsa-gate verify` through the real CLI: verdict line, --json, exit codes 0/1/2, no stack traces. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CASE = join(ROOT, 'test/fixtures/corpus/slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
const BUNDLE = join(CASE, 'provenance.intoto.jsonl');
const ARTIFACT = join(CASE, 'artifact');
const BUILDER =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
const tmp = mkdtempSync(join(tmpdir(), 'verify-cli-'));

function verify(args: string[]): Promise<{ exit: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin/slsa-gate.js'), 'verify', ...args], (err, stdout, stderr) => {
      done({ exit: err ? Number((err as { code?: unknown }).code) : 0, stdout, stderr });
    });
  });
}
const base = [
  '--artifact',
  ARTIFACT,
  '--attestation',
  BUNDLE,
  '--builder-id',
  BUILDER,
  '--source-uri',
  'github.com/slsa-framework/example-package',
];
function noStack(r: { stdout: string; stderr: string }): void {
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

test('pass: exit 0 and a PASSED line', async () => {
  const r = await verify(base);
  assert.equal(r.exit, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASSED: /);
});

test('--json prints the outcome, every check and the verified signer', async () => {
  const r = await verify([...base, '--json']);
  assert.equal(r.exit, 0);
  const out = JSON.parse(r.stdout) as {
    outcome: string;
    checks: Array<{ id: string; result: string }>;
    attestations: Array<{ signer: { identity: string } }>;
  };
  assert.equal(out.outcome, 'PASSED');
  assert.ok(out.checks.some((c) => c.id === 'builder' && c.result === 'PASS'));
  assert.ok(out.checks.some((c) => c.id === 'subject'));
  assert.match(
    out.attestations[0]?.signer.identity ?? '',
    /generator_generic_slsa3\.yml@refs\/tags\/v2\.1\.0$/,
  );
});

test('policy failure: exit 1 and FAILED: <check>: <CODE>: <reason>', async () => {
  const r = await verify([...base, '--source-branch', 'master']);
  assert.equal(r.exit, 1);
  assert.match(r.stdout, /^FAILED: source: [A-Z_]+: .+/);
});

test('a digest of another artifact: exit 1 with SUBJECT_MISMATCH', async () => {
  const r = await verify([
    '--digest',
    `sha256:${'ab'.repeat(32)}`,
    '--attestation',
    BUNDLE,
    '--builder-id',
    BUILDER,
    '--source-uri',
    'github.com/slsa-framework/example-package',
    '--json',
  ]);
  assert.equal(r.exit, 1);
  assert.equal((JSON.parse(r.stdout) as { failure: { code: string } }).failure.code, 'SUBJECT_MISMATCH');
});

test('malformed attestation: exit 1, coded, names the JSON path, no stack trace', async () => {
  const bad = join(tmp, 'bad.json');
  const bundle = JSON.parse(readFileSync(BUNDLE, 'utf8')) as {
    verificationMaterial: { tlogEntries: Array<{ logIndex: string }> };
  };
  bundle.verificationMaterial.tlogEntries[0]!.logIndex = '-5';
  writeFileSync(bad, JSON.stringify(bundle));
  const r = await verify(['--artifact', ARTIFACT, '--attestation', bad, ...base.slice(4)]);
  assert.equal(r.exit, 1);
  assert.match(r.stdout, /^FAILED: signature: BUNDLE_MALFORMED: .*tlogEntries\[0\]\.logIndex/s);
  noStack(r);
  const truncated = join(tmp, 'truncated.json');
  writeFileSync(truncated, readFileSync(BUNDLE, 'utf8').slice(0, 500));
  const t = await verify(['--artifact', ARTIFACT, '--attestation', truncated, ...base.slice(4)]);
  assert.equal(t.exit, 1);
  assert.match(t.stdout, /BUNDLE_MALFORMED/);
  noStack(t);
});

test('usage and input errors: exit 2, no stack trace', async () => {
  const cases: string[][] = [
    ['--attestation', BUNDLE],
    [...base, '--no-such-flag'],
    ['--artifact', join(tmp, 'missing'), '--attestation', BUNDLE],
    [...base, '--digest', 'sha256:abc'],
    ['--digest', 'sha256:xyz', '--attestation', BUNDLE],
    [...base, '--san-regex', 'github'],
    [...base, '--policy', join(tmp, 'missing-policy.yaml')],
  ];
  for (const args of cases) {
    const r = await verify(args);
    assert.equal(r.exit, 2, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
    noStack(r);
  }
});

test('a malformed trusted root is a configuration error naming the file: exit 2', async () => {
  const root = join(tmp, 'trusted_root.json');
  writeFileSync(root, '{"mediaType": "application/json"}');
  const r = await verify([...base, '--trusted-root', root]);
  assert.equal(r.exit, 2);
  assert.match(r.stderr, /CONFIG_INVALID: .*trusted_root\.json/);
  noStack(r);
});

test('--bundle-only verifies signatures without an artifact, and refuses artifact expectations', async () => {
  const ok = await verify(['--bundle-only', '--attestation', BUNDLE]);
  assert.equal(ok.exit, 0, ok.stdout + ok.stderr);
  const issuer = await verify([
    '--bundle-only',
    '--attestation',
    BUNDLE,
    '--certificate-oidc-issuer',
    'https://accounts.google.com',
  ]);
  assert.equal(issuer.exit, 1);
  assert.match(issuer.stdout, /^FAILED: identity: IDENTITY_MISMATCH/);
  assert.equal((await verify(['--bundle-only', '--attestation', BUNDLE, '--builder-id', BUILDER])).exit, 2);
});

test('--policy: the rule selected by --artifact-name decides; an uncovered artifact is denied', async () => {
  const policy = join(tmp, 'policy.yaml');
  const rule = (branch: string): string =>
    [
      'version: 1',
      'rules:',
      '  - name: example package binary',
      '    artifacts: [example-package-binary]',
      `    builders: [${BUILDER}]`,
      '    minBuildLevel: 3',
      `    source: { repos: [github.com/slsa-framework/example-package], branches: [${branch}] }`,
      '',
    ].join('\n');
  writeFileSync(policy, rule('main'));
  const args = ['--artifact', ARTIFACT, '--attestation', BUNDLE, '--policy', policy];
  const ok = await verify([...args, '--artifact-name', 'example-package-binary']);
  assert.equal(ok.exit, 0, ok.stdout + ok.stderr);
  assert.match((await verify(args)).stderr, /POLICY_INCOMPLETE/);
  writeFileSync(policy, rule('master'));
  const r = await verify([...args, '--artifact-name', 'example-package-binary']);
  assert.equal(r.exit, 1);
  assert.match(r.stdout, /^FAILED: source: REF_MISMATCH: /);
  assert.equal(
    (await verify([...args, '--builder-id', BUILDER])).exit,
    2,
    '--policy excludes expectation flags',
  );
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isGateError } from '../../../src/core/errors.ts';
import { ensureDevSigningKey } from '../../../src/signing/signing-key.ts';
import { createActivityDeps } from '../../../src/workers/activity-deps.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { ensureServices, services } from '../../helpers/services.ts';

before(ensureServices);

// docs/checklist.md#row-10: a policy that names no signer identity or issuer refuses to start the worker.
test('the worker refuses to start with a policy that does not say who may sign', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-worker-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    [
      'version: 1',
      'rules:',
      '  - artifacts: ["127.0.0.1:5000/staging/app"]',
      '    requireTrustedBuilder: false',
      '    builders: ["https://example.test/builder@v1"]',
      '    source: { repos: ["github.com/example/app"] }',
      '',
    ].join('\n'),
  );
  const config = loadConfig({
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_POLICY: policy,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa.pem')),
  });
  await assert.rejects(
    createActivityDeps(config),
    (err: unknown) => isGateError(err) && err.code === 'POLICY_INCOMPLETE',
  );
});

test('the worker refuses to start with a policy file that does not parse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-worker-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'version: 1\nrules: [ { artifacts: ["x"], minBuildLevel: "three" } ]\n');
  const config = loadConfig({
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_POLICY: policy,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa.pem')),
  });
  await assert.rejects(
    createActivityDeps(config),
    (err: unknown) => isGateError(err) && err.code === 'POLICY_INVALID',
  );
});

/**
 * examples/policy.yaml with the "app image" source widened to any repository of the owner
 * (`github.com/example-org/app` → `github.com/example-org/*`): attacker-made, an unrelated
 * project's build of that owner satisfies it.
 */
function broadPolicy(dir: string, allowBroad: boolean): string {
  const example = readFileSync(
    fileURLToPath(new URL('../../../examples/policy.yaml', import.meta.url)),
    'utf8',
  );
  let text = example.replace('repos: [github.com/example-org/app]', 'repos: [github.com/example-org/*]');
  assert.notEqual(text, example);
  if (allowBroad) text = text.replace('  - name: app image\n', '  - name: app image\n    allowBroad: true\n');
  const file = join(dir, 'broad-policy.yaml');
  writeFileSync(file, text);
  return file;
}

// docs/policy.md#breadth-policy_too_broad: SLSA_GATE_POLICY is checked as `policy check` checks it.
// Failing before: the worker started with it.
test('the worker refuses to start with a policy whose rule an unrelated project satisfies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-worker-'));
  const config = loadConfig({
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_POLICY: broadPolicy(dir, false),
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa.pem')),
  });
  await assert.rejects(
    createActivityDeps(config),
    (err: unknown) => isGateError(err) && err.code === 'POLICY_TOO_BROAD',
  );
});

/** The worker entry point as a person runs it, with the archive out of reach: it stops after its start-up lines. */
function startWorkerWithoutArchive(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-worker-'));
  const entry = fileURLToPath(new URL('../../../src/workers/main.ts', import.meta.url));
  return spawnSync(process.execPath, ['--import', 'tsx', entry], {
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env.PATH,
      // A port nothing listens on: the archive is out of reach.
      MONGODB_URI: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500',
      SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa.pem')),
      ...env,
    },
  });
}

// The entry point a person runs: a store out of reach is one coded line, no stack trace.
// Failing before: the top-level await rethrew, and Node printed the GateError with its stack.
test('the worker process refusing to start prints one coded line and no stack trace', () => {
  const run = startWorkerWithoutArchive();
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /^slsa-gate worker: ARCHIVE_UNAVAILABLE: /m);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack frame');
});

// docs/security-model.md#verified-identities-not-typed-names: a worker that counts typed
// approver names says so when it starts. Failing before: it started without a word.
test('a worker that accepts unverified approvals warns at start in one coded line; one that does not, does not', () => {
  const warned = startWorkerWithoutArchive({ SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS: 'true' });
  const warnings = warned.stderr.split('\n').filter((l) => l.includes('UNVERIFIED_APPROVALS'));
  assert.equal(warnings.length, 1, warned.stderr);
  assert.match(warnings[0]!, /^slsa-gate worker: warning UNVERIFIED_APPROVALS: /);
  const quiet = [
    startWorkerWithoutArchive(),
    startWorkerWithoutArchive({ SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS: 'false' }),
  ];
  for (const run of quiet) assert.doesNotMatch(run.stderr, /UNVERIFIED_APPROVALS/);
});

// A breadth the operator accepted (`allowBroad: true`) is said at start, each finding on its line.
test('a worker whose policy accepts a broad rule warns at start with the rule and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-worker-'));
  const run = startWorkerWithoutArchive({ SLSA_GATE_POLICY: broadPolicy(dir, true) });
  assert.match(
    run.stderr,
    /^slsa-gate worker: warning POLICY_TOO_BROAD: .*: rules\[0\]\.source\.repos\[0\]: rule "app image": .*allowBroad/m,
  );
});

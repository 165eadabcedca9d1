/** `slsa-gate policy check FILE` through the real CLI entry point. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const BIN = new URL('../../../bin/slsa-gate.js', import.meta.url).pathname;
const EXAMPLE = new URL('../../../examples/policy.yaml', import.meta.url).pathname;

function cli(...args: string[]) {
  return cliWith({}, ...args);
}

function cliWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SLSA_GATE_TRUST_MAP: '', ...env },
  });
}

test('policy check: a valid policy exits 0 and prints its digest', () => {
  const r = cli('policy', 'check', EXAMPLE);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^VALID: .* digest sha256:[0-9a-f]{64}$/m);
});

test('policy check: an invalid policy exits 2 and lists every problem with its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'version: 1\nrules:\n  - artifacts: [a]\n    minBuildLevel: 9\n    sourc: {}\n');
  const r = cli('policy', 'check', '--json', file);
  assert.equal(r.status, 2);
  const out = JSON.parse(r.stdout) as { valid: boolean; code: string; problems: Array<{ path: string }> };
  assert.equal(out.valid, false);
  assert.equal(out.code, 'POLICY_INVALID');
  assert.deepEqual(out.problems.map((p) => p.path).sort(), ['rules[0]', 'rules[0].minBuildLevel']);
});

test('policy check: an incomplete policy (no signer identity) exits 2 with POLICY_INCOMPLETE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  const file = join(dir, 'incomplete.json');
  writeFileSync(file, JSON.stringify({ version: 1, rules: [{ artifacts: ['a'] }] }));
  const r = cli('policy', 'check', file);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /POLICY_INCOMPLETE/);
  assert.match(r.stderr, /rules\[0\]\.builders: /);
});

test('policy check: a missing file exits 2', () => {
  assert.equal(cli('policy', 'check', '/nonexistent/policy.yaml').status, 2);
});

test('policy check --trust-map: builders are resolved against the given trust map', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  const map = join(dir, 'trust-map.json');
  writeFileSync(map, JSON.stringify({ version: 1, builders: [] }));
  const r = cli('policy', 'check', '--trust-map', map, EXAMPLE);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /POLICY_INCOMPLETE/);
  assert.match(r.stderr, /rules\[0\]\.builders\[0\]: /);
  const bad = join(dir, 'bad-map.json');
  writeFileSync(bad, JSON.stringify({ version: 2 }));
  assert.equal(cli('policy', 'check', '--trust-map', bad, EXAMPLE).status, 2);
});

test('policy check reads SLSA_GATE_TRUST_MAP as policy load and the worker do', () => {
  // An operator's trust map that vouches for no builder: the example policy names builders it
  // does not know, so the policy `policy load` would refuse must not be VALID here either.
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  const map = join(dir, 'trust-map.json');
  writeFileSync(map, JSON.stringify({ version: 1, builders: [] }));
  const r = cliWith({ SLSA_GATE_TRUST_MAP: map }, 'policy', 'check', EXAMPLE);
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /POLICY_INCOMPLETE/);
  // --trust-map names the file for this call and wins over the variable.
  const shipped = new URL('../../../src/core/policy/default-trust-map.json', import.meta.url).pathname;
  const given = cliWith({ SLSA_GATE_TRUST_MAP: map }, 'policy', 'check', '--trust-map', shipped, EXAMPLE);
  assert.equal(given.status, 0, given.stderr);
});

test('policy check: a rule an unrelated project satisfies exits 2 with POLICY_TOO_BROAD; allowBroad warns and exits 0', () => {
  // Attacker-made: examples/policy.yaml with the "app image" source repository widened to any
  // repository of its owner (`github.com/example-org/app` → `github.com/example-org/*`).
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  const broad = readFileSync(EXAMPLE, 'utf8').replace(
    'repos: [github.com/example-org/app]',
    'repos: [github.com/example-org/*]',
  );
  assert.notEqual(broad, readFileSync(EXAMPLE, 'utf8'));
  const file = join(dir, 'broad.yaml');
  writeFileSync(file, broad);
  const r = cli('policy', 'check', file);
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /^INVALID: .*: POLICY_TOO_BROAD: 1 problem\(s\)$/m);
  assert.match(
    r.stderr,
    /^ {2}rules\[0\]\.source\.repos\[0\]: rule "app image": .*any repository of example-org/m,
  );
  const json = JSON.parse(cli('policy', 'check', '--json', file).stdout) as {
    code: string;
    problems: Array<{ path: string; code?: string }>;
  };
  assert.equal(json.code, 'POLICY_TOO_BROAD');
  assert.deepEqual(
    json.problems.map((p) => [p.path, p.code]),
    [['rules[0].source.repos[0]', 'POLICY_TOO_BROAD']],
  );

  // The operator accepts it explicitly on that rule: valid, and the finding is printed.
  const allowed = join(dir, 'allowed.yaml');
  writeFileSync(
    allowed,
    broad.replace('  - name: app image\n', '  - name: app image\n    allowBroad: true\n'),
  );
  const ok = cli('policy', 'check', allowed);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^VALID: /m);
  assert.match(ok.stderr, /^WARNING: .*: rules\[0\]\.source\.repos\[0\]: rule "app image": .*allowBroad/m);
  const okJson = JSON.parse(cli('policy', 'check', '--json', allowed).stdout) as {
    valid: boolean;
    warnings: Array<{ path: string }>;
  };
  assert.equal(okJson.valid, true);
  assert.deepEqual(
    okJson.warnings.map((w) => w.path),
    ['rules[0].source.repos[0]'],
  );
});

test('verify --policy refuses a too-broad policy as policy check does, and prints what allowBroad accepts', () => {
  // Real material: slsa-framework/example-package's corpus provenance and artifact. Attacker-made:
  // a rule for that build whose artifacts cover every name on every registry (`^.*$`).
  const corpus = new URL(
    '../../fixtures/corpus/slsa-verifier/gha-generic-v2.1.0-dispatch-valid/',
    import.meta.url,
  ).pathname;
  const rule = {
    name: 'any artifact',
    artifacts: ['^.*$'],
    builders: [
      'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml',
    ],
    source: { repos: ['github.com/slsa-framework/example-package'] },
  };
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  const broad = join(dir, 'broad.json');
  writeFileSync(broad, JSON.stringify({ version: 1, rules: [rule] }));
  const verify = (policy: string) =>
    cli(
      'verify',
      join(corpus, 'artifact'),
      '--attestation',
      join(corpus, 'provenance.intoto.jsonl'),
      '--policy',
      policy,
    );
  const refused = verify(broad);
  assert.equal(refused.status, 2, refused.stdout);
  assert.match(refused.stderr, /POLICY_TOO_BROAD: .*broad\.json/);
  assert.match(refused.stderr, /rules\[0\]\.artifacts\[0\]: rule "any artifact": .*matches every name/);
  const allowed = join(dir, 'allowed.json');
  writeFileSync(allowed, JSON.stringify({ version: 1, rules: [{ ...rule, allowBroad: true }] }));
  const passed = verify(allowed);
  assert.equal(passed.status, 0, passed.stderr);
  assert.match(passed.stderr, /^WARNING: .*allowed\.json: rules\[0\]\.artifacts\[0\]: .*allowBroad/m);
});

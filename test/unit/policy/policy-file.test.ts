/** The policy file: schema, every error with its path, completeness (docs/checklist.md#row-10), digest, rule selection. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isGateError, type GateError } from '../../../src/core/errors.ts';
import { parsePolicy, selectRule } from '../../../src/core/policy/policy-file.ts';

const EXAMPLE = readFileSync(new URL('../../../examples/policy.yaml', import.meta.url), 'utf8');
const GENERIC =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';

function failure(fn: () => unknown): GateError {
  try {
    fn();
  } catch (err) {
    if (isGateError(err)) return err;
    throw err;
  }
  assert.fail('expected a GateError');
}

function paths(err: GateError): string[] {
  return ((err.detail?.problems ?? []) as Array<{ path: string }>).map((p) => p.path);
}

test('the example policy is valid', () => {
  const { policy, digest } = parsePolicy(EXAMPLE, 'examples/policy.yaml');
  assert.equal(policy.rules.length, 3);
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
});

test('the digest ignores formatting: YAML, reordered JSON and defaults written out give the same digest', () => {
  const yaml = `version: 1
rules:
  - artifacts: [app]   # comment
    builders: [${GENERIC}]
    source: { repos: [github.com/o/r] }
`;
  const json = JSON.stringify(
    {
      rules: [
        {
          source: { repos: ['github.com/o/r'] },
          builders: [GENERIC],
          artifacts: ['app'],
          approvalRequired: false,
        },
      ],
      version: 1,
    },
    null,
    4,
  );
  const a = parsePolicy(yaml, 'a.yaml').digest;
  assert.equal(parsePolicy(json, 'b.json').digest, a);
  const changed = parsePolicy(yaml.replace('[app]', '[app2]'), 'c.yaml').digest;
  assert.notEqual(changed, a);
});

test('every schema error is reported with its path (POLICY_INVALID)', () => {
  const text = `version: 1
rules:
  - artifacts: [app]
    builders: [${GENERIC}]
    minBuildLevel: 7
    identites: []
    source: { repos: [github.com/o/r], minLevel: -1 }
    identities:
      - issuer: https://token.actions.githubusercontent.com
        subjectPattern: github
`;
  const err = failure(() => parsePolicy(text, 'bad.yaml'));
  assert.equal(err.code, 'POLICY_INVALID');
  const got = paths(err);
  for (const want of [
    'rules[0].minBuildLevel',
    'rules[0]',
    'rules[0].source.minLevel',
    'rules[0].identities[0].subjectPattern',
  ]) {
    assert.ok(got.includes(want), `missing ${want} in ${got.join(', ')}`);
  }
});

test('YAML syntax errors and duplicate keys are POLICY_INVALID', () => {
  assert.equal(failure(() => parsePolicy('version: 1\nrules: [\n', 'x.yaml')).code, 'POLICY_INVALID');
  assert.equal(
    failure(() => parsePolicy('version: 1\nversion: 1\nrules: []\n', 'x.yaml')).code,
    'POLICY_INVALID',
  );
});

test('docs/checklist.md#row-10: a rule without a signer identity or issuer is POLICY_INCOMPLETE, every problem listed', () => {
  const text = `version: 1
rules:
  - artifacts: [a]
    source: { repos: [github.com/o/r] }
    identities:
      - subject: https://github.com/o/r/.github/workflows/release.yml@refs/heads/main
  - artifacts: [b]
    source: { repos: [github.com/o/r] }
  - artifacts: [c]
    source: { repos: [github.com/o/r] }
    builders: [https://builder.example/unknown]
  - artifacts: [d]
    source: { repos: [github.com/o/r] }
    identities:
      - issuer: https://token.actions.githubusercontent.com
  - artifacts: [e]
    requireProvenance: false
`;
  const err = failure(() => parsePolicy(text, 'incomplete.yaml'));
  assert.equal(err.code, 'POLICY_INCOMPLETE');
  assert.deepEqual(paths(err).sort(), [
    'rules[0].identities[0].issuer',
    'rules[1].builders',
    'rules[2].builders[0]',
    'rules[3].identities[0]',
    'rules[4].identities',
  ]);
});

test('a builder in the trust map carries its signer: no identity needed', () => {
  const text = `version: 1\nrules:\n  - artifacts: [a]\n    builders: [${GENERIC}]\n    source: { repos: [github.com/o/r] }\n`;
  assert.equal(parsePolicy(text, 'ok.yaml').policy.rules[0]?.builders[0], GENERIC);
});

test('a provenance rule that does not pin the source repository is POLICY_INCOMPLETE', () => {
  const text = `version: 1
rules:
  - artifacts: [a]
    builders: [https://github.com/actions/runner/github-hosted]
  - artifacts: [b]
    builders: [https://github.com/actions/runner/github-hosted]
    identities: [{ issuer: https://token.actions.githubusercontent.com, repo: o/r }]
`;
  const err = failure(() => parsePolicy(text, 'unpinned.yaml'));
  assert.equal(err.code, 'POLICY_INCOMPLETE');
  assert.deepEqual(paths(err), ['rules[0].source.repos']);
});

test('a provenance rule that also wants a VSA must say who signs the VSA', () => {
  const text = `version: 1
rules:
  - artifacts: [a]
    builders: [${GENERIC}]
    source: { repos: [github.com/o/r] }
    vsa: { verifierId: https://verifier.example }
`;
  const err = failure(() => parsePolicy(text, 'vsa.yaml'));
  assert.equal(err.code, 'POLICY_INCOMPLETE');
  assert.deepEqual(paths(err), ['rules[0].vsa.identities']);
});

test('a rule that wants a VSA must name its verifier: its VSA signers speak for that one only', () => {
  // Without vsa.verifierId, the VSA key named here would count for a VSA it signs in any
  // verifier's name (docs/security-model.md#vsa-signers).
  const text = `version: 1
rules:
  - artifacts: [a]
    requireProvenance: false
    identities: [{ keyId: verifier-a-key }]
    vsa: { resourceUri: "oci://registry.example/app" }
`;
  const err = failure(() => parsePolicy(text, 'vsa.yaml'));
  assert.equal(err.code, 'POLICY_INCOMPLETE');
  assert.deepEqual(paths(err), ['rules[0].vsa.verifierId']);
  parsePolicy(
    text.replace('{ resourceUri:', '{ verifierId: "https://verifier-a.example", resourceUri:'),
    'vsa.yaml',
  );
});

test('an empty vsa.identities names nobody: it is refused, never every configured key', () => {
  // Failing before: `vsa.identities: []` on a rule without provenance passed the policy check
  // and made the vsa guard accept a VSA from any configured public key, so the holder of a key
  // configured for a team's key-signed provenance could sign the VSA this rule wants.
  // Attacker material: the holder of such a key signs a VSA in verifier-a's name; what decides
  // is whether this policy is accepted, tested here.
  const text = `version: 1
rules:
  - artifacts: [a]
    requireProvenance: false
    identities: [{ keyId: verifier-a-key }]
    vsa: { verifierId: "https://verifier-a.example", resourceUri: "oci://registry.example/app", identities: [] }
`;
  const err = failure(() => parsePolicy(text, 'vsa.yaml'));
  assert.equal(err.code, 'POLICY_INVALID');
  assert.deepEqual(paths(err), ['rules[0].vsa.identities']);
  parsePolicy(text.replace(', identities: [] }', ' }'), 'vsa.yaml');
});

test('a VSA signer identity is checked as a provenance signer identity is', () => {
  // Failing before: only the rule's own identities were checked, so `vsa.identities` could
  // name nobody (`{}` accepts every signer) or an issuer alone (every GitHub Actions
  // workflow), and a VSA signed with the attacker's own Fulcio certificate in the verifier's
  // name counted. Attacker material: such a certificate, from the attacker's own workflow.
  const policy = (vsaIdentity: string) => `version: 1
rules:
  - artifacts: [a]
    builders: [${GENERIC}]
    source: { repos: [github.com/o/r] }
    vsa:
      verifierId: https://verifier.example
      identities: [${vsaIdentity}]
`;
  const at = 'rules[0].vsa.identities[0]';
  for (const [identity, found] of [
    ['{}', [at, `${at}.issuer`]],
    ['{ issuer: "https://token.actions.githubusercontent.com" }', [at]],
    [
      '{ subject: "https://github.com/o/verifier/.github/workflows/vsa.yml@refs/heads/main" }',
      [`${at}.issuer`],
    ],
    ['{ issuer: "https://token.actions.githubusercontent.com", owner: o }', [at]],
  ] as const) {
    const err = failure(() => parsePolicy(policy(identity), 'vsa.yaml'));
    assert.equal(err.code, 'POLICY_INCOMPLETE', identity);
    assert.deepEqual(paths(err), found, identity);
  }
  parsePolicy(
    policy(
      '{ issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/o/verifier/.github/workflows/vsa.yml@refs/heads/main" }',
    ),
    'vsa.yaml',
  );
  parsePolicy(policy('{ keyId: verifier-key }'), 'vsa.yaml');
});

test('selectRule: exact names, anchored patterns, oci:// and @digest stripped; none → POLICY_INCOMPLETE', () => {
  const { policy } = parsePolicy(EXAMPLE, 'examples/policy.yaml');
  assert.equal(selectRule(policy, '127.0.0.1:5000/staging/app').name, 'app image');
  assert.equal(
    selectRule(policy, `oci://127.0.0.1:5000/staging/app@sha256:${'a'.repeat(64)}`).name,
    'app image',
  );
  assert.equal(selectRule(policy, '127.0.0.1:5000/files/tool.tar.gz').name, 'release files');
  assert.equal(selectRule(policy, 'pkg:npm/@example-org/lib').name, 'npm package');
  assert.equal(
    failure(() => selectRule(policy, '127.0.0.1:5000/staging/app-evil')).code,
    'POLICY_INCOMPLETE',
  );
  assert.equal(failure(() => selectRule(policy, 'x127.0.0.1:5000/files/a')).code, 'POLICY_INCOMPLETE');
});

/**
 * Guard `destination` for files (docs/policy.md#files): a rule publishes only the files it
 * names, under the name the provenance gives them. The subject is the real one of the corpus
 * case slsa-verifier/gha-generic-v2.1.0-tag-v13.0.30-versioned-v13 (generic generator v2.1.0);
 * the attacker's part is the file name, which whoever stages the artifact writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDestination } from '../../../src/core/policy/guards/destination.ts';
import { PolicyRuleSchema } from '../../../src/core/policy/policy-rule.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';

const SUBJECT = {
  name: 'gha_generic-binary-linux-amd64-v13.0.30',
  digest: { sha256: '376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa' },
};
const provenance: Provenance = {
  predicateType: 'https://slsa.dev/provenance/v0.2',
  builder: { id: 'b', name: 'b' },
  buildType: 't',
  externalParameters: {},
  source: {
    uri: 'git+https://github.com/slsa-framework/example-package',
    ref: 'refs/tags/v13.0.30',
    commit: 'c',
  },
  resolvedDependencies: [],
  subjects: [SUBJECT],
};
const rule = (files?: { names: string[] }) =>
  PolicyRuleSchema.parse({
    name: 'binaries',
    release: { destinations: ['registry.example.com/release/tool'] },
    ...(files ? { files } : {}),
  });
const check = (r: ReturnType<typeof rule>, name: string | undefined) =>
  checkDestination(r, {
    repository: 'registry.example.com/release/tool',
    artifact: { digests: { sha256: SUBJECT.digest.sha256 }, ...(name ? { file: { name } } : {}) },
    provenance,
  });

test('a file the rule names, under the name the provenance gives it, may be published', () => {
  assert.equal(
    check(rule({ names: ['^gha_generic-binary-linux-(amd64|arm64)-v13\\.[0-9]+\\.[0-9]+$'] }), SUBJECT.name)
      .result,
    'PASS',
  );
  // An image (no file) under the same rule is judged as before.
  assert.equal(check(rule(), undefined).result, 'PASS');
});

test('a rule that names no files publishes no file (FILE_NOT_ALLOWED)', () => {
  const c = check(rule(), SUBJECT.name);
  assert.equal(c.result, 'FAIL');
  assert.equal(c.code, 'FILE_NOT_ALLOWED');
});

test('a file name the rule does not list is refused (FILE_NOT_ALLOWED)', () => {
  assert.equal(
    check(rule({ names: ['gha_generic-binary-linux-arm64-v13.0.30'] }), SUBJECT.name).code,
    'FILE_NOT_ALLOWED',
  );
});

test('a name the rule lists but the provenance does not give this file is refused (FILE_NOT_ALLOWED)', () => {
  // The amd64 binary staged under the arm64 name: the rule allows both names, the builder named it amd64.
  const c = check(
    rule({ names: ['^gha_generic-binary-linux-(amd64|arm64)-v13\\.0\\.30$'] }),
    'gha_generic-binary-linux-arm64-v13.0.30',
  );
  assert.equal(c.result, 'FAIL');
  assert.equal(c.code, 'FILE_NOT_ALLOWED');
});

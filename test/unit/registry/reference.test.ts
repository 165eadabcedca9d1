import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { formatReference, parseReference, parseRepository } from '../../../src/registry/reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

test('good references parse into registry, repository, tag and digest', () => {
  const cases: Array<[string, ReturnType<typeof parseReference>]> = [
    ['127.0.0.1:5000/staging/app:v1', { registry: '127.0.0.1:5000', repository: 'staging/app', tag: 'v1' }],
    [`ghcr.io/org/app@${D}`, { registry: 'ghcr.io', repository: 'org/app', digest: D }],
    [`ghcr.io/org/app:1.2.3@${D}`, { registry: 'ghcr.io', repository: 'org/app', tag: '1.2.3', digest: D }],
    ['localhost/a:latest', { registry: 'localhost', repository: 'a', tag: 'latest' }],
    [
      'localhost:5000/a/b/c_d/e__f/g-h/i.j:T_1.x-y',
      { registry: 'localhost:5000', repository: 'a/b/c_d/e__f/g-h/i.j', tag: 'T_1.x-y' },
    ],
    ['[::1]:5000/app:v1', { registry: '[::1]:5000', repository: 'app', tag: 'v1' }],
    ['docker.io/library/ubuntu:22.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '22.04' }],
    [
      `registry.example.com/app@sha512:${'b'.repeat(128)}`,
      { registry: 'registry.example.com', repository: 'app', digest: `sha512:${'b'.repeat(128)}` },
    ],
  ];
  for (const [input, expected] of cases) {
    assert.deepEqual(parseReference(input), expected, input);
    assert.equal(formatReference(parseReference(input)), input);
  }
});

test('bad references are INPUT_INVALID naming the part at fault', () => {
  const cases: Array<[string, string]> = [
    ['ubuntu:22.04', 'registry host'],
    ['library/ubuntu:22.04', 'registry host'],
    ['ghcr.io/org/app', 'tag or digest'],
    ['ghcr.io/Org/app:v1', 'repository'],
    ['ghcr.io/org//app:v1', 'repository'],
    ['ghcr.io/org/app-:v1', 'repository'],
    ['ghcr.io/org/app:', 'tag'],
    ['ghcr.io/org/app:-v1', 'tag'],
    [`ghcr.io/org/app:${'t'.repeat(129)}`, 'tag'],
    ['ghcr.io/org/app@sha256:abc', 'digest'],
    [`ghcr.io/org/app@sha256:${'A'.repeat(64)}`, 'digest'],
    [`ghcr.io/org/app@md5:${'a'.repeat(32)}`, 'digest'],
    ['ghcr.io:99999/app:v1', 'registry port'],
    ['-bad.io/app:v1', 'registry host'],
    [' ghcr.io/app:v1', 'reference'],
    ['', 'reference'],
    [`ghcr.io/${'a'.repeat(256)}:v1`, 'repository'],
  ];
  for (const [input, part] of cases) {
    assert.throws(
      () => parseReference(input),
      (err: GateError) => err.code === 'INPUT_INVALID' && err.detail?.part === part,
      `${JSON.stringify(input)} should fail on ${part}`,
    );
  }
});

test('parseRepository takes a repository without tag or digest', () => {
  assert.deepEqual(parseRepository('127.0.0.1:5000/release/app'), {
    registry: '127.0.0.1:5000',
    repository: 'release/app',
  });
  assert.throws(
    () => parseRepository('release/app'),
    (err: GateError) => err.code === 'INPUT_INVALID',
  );
  assert.throws(
    () => parseRepository('ghcr.io/app:v1'),
    (err: GateError) => err.code === 'INPUT_INVALID',
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expectedResourceUri,
  loadMirrorMap,
  parseMirrorMap,
  releaseReferenceOf,
} from '../../../src/consumers/mirror-map.ts';
import { code } from '../../helpers/error-code.ts';

const map = parseMirrorMap(
  { 'mirror.example/release/': 'registry.example/release/', 'cache.internal:5000/': 'ghcr.io/' },
  'test',
);

test('an image under a mirror prefix names its release repository; any other names itself', () => {
  assert.equal(
    expectedResourceUri(map, { registry: 'mirror.example', repository: 'release/team/app' }),
    'oci://registry.example/release/team/app',
  );
  assert.equal(
    expectedResourceUri(map, { registry: 'cache.internal:5000', repository: 'o/app' }),
    'oci://ghcr.io/o/app',
  );
  // Whole path components only: `release-x` is not under `release/`.
  assert.equal(
    expectedResourceUri(map, { registry: 'mirror.example', repository: 'release-x/app' }),
    'oci://mirror.example/release-x/app',
  );
  assert.equal(
    expectedResourceUri(map, { registry: 'registry.example', repository: 'release/app' }),
    'oci://registry.example/release/app',
  );
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(
    releaseReferenceOf(map, `mirror.example/release/app:v1@${digest}`),
    `registry.example/release/app:v1@${digest}`,
  );
  assert.equal(releaseReferenceOf(map, `other.example/app@${digest}`), `other.example/app@${digest}`);
});

test('a mirror map that could map everything, or map ambiguously, is refused', () => {
  const bad: Array<Record<string, string>> = [
    { '': 'registry.example/release/' },
    { '*': 'registry.example/release/' },
    { '/': 'registry.example/release/' },
    { 'mirror.example/*/': 'registry.example/release/' },
    { 'mirror.example/release': 'registry.example/release/' },
    { 'mirror.example/release/': 'registry.example/release' },
    // No registry host: would be read as a Docker Hub namespace.
    { 'release/': 'registry.example/release/' },
    { 'Mirror.example/release/': 'registry.example/release/' },
    { 'mirror.example//': 'registry.example/release/' },
    { 'mirror.example/release/': 'mirror.example/release/' },
    { 'mirror.example/': 'mirror.example/release/' },
    // Two prefixes matching one image.
    { 'mirror.example/': 'registry.example/a/', 'mirror.example/release/': 'registry.example/b/' },
    // A release location that is also a mirror.
    { 'a.example/': 'b.example/', 'b.example/x/': 'c.example/' },
  ];
  for (const value of bad)
    assert.equal(
      code(() => parseMirrorMap(value, 'test')),
      'CONFIG_INVALID',
      JSON.stringify(value),
    );
  assert.equal(
    code(() => parseMirrorMap(['mirror.example/'], 'test')),
    'CONFIG_INVALID',
  );
});

test('SLSA_GATE_MIRRORS and --mirror pairs are validated together', () => {
  const env = { SLSA_GATE_MIRRORS: '{"mirror.example/release/": "registry.example/release/"}' };
  assert.deepEqual(loadMirrorMap(env, ['cache.internal/o/=ghcr.io/o/']), {
    'mirror.example/release/': 'registry.example/release/',
    'cache.internal/o/': 'ghcr.io/o/',
  });
  assert.deepEqual(loadMirrorMap({}), {});
  assert.equal(
    code(() => loadMirrorMap({ SLSA_GATE_MIRRORS: 'not json' })),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() => loadMirrorMap({}, ['mirror.example/'])),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() => loadMirrorMap(env, ['mirror.example/=other.example/'])),
    'CONFIG_INVALID',
  );
});

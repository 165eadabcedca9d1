import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAttestors } from '../../../src/attestors/attestors-config.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { makeKey } from '../../helpers/vsa-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'attestors-config-'));
const key = makeKey('store');
writeFileSync(join(dir, 'store.pem'), key.publicKeyPem);
writeFileSync(join(dir, 'levels.yaml'), 'dependencies: []\n');

function write(text: string): string {
  const file = join(dir, `attestors-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

const GOOD = `
trust:
  verifiers:
    - id: https://store.example/verifier
      tracks: { BUILD: 3 }
    - id: https://github.com/slsa-framework/source-tool
      tracks: { SOURCE: 3 }
  signers:
    - keyId: store
      publicKeyFile: store.pem
      verifierIds: [https://store.example/verifier]
    - identity: https://github.com/slsa-framework/source-actions/.github/workflows/compute_slsa_source.yml@refs/heads/main
      issuer: https://token.actions.githubusercontent.com
      verifierIds: [https://github.com/slsa-framework/source-tool]
attestors:
  - { kind: http-store, name: store, baseUrl: "http://127.0.0.1:8080" }
  - { kind: archivista, name: archivista, baseUrl: "http://127.0.0.1:8082" }
  - kind: git-notes
    name: notes
    repositories: [{ repo: "git+https://github.com/acme/app", url: "https://github.com/acme/app" }]
    cacheDir: cache
  - { kind: static, file: levels.yaml }
resolve: { concurrency: 8, timeoutMs: 10000, ttlSeconds: { found: 600, notFound: 60 } }
`;

test('the attestors file builds each attestor and the resolve options', () => {
  const { attestors, options, trust } = loadAttestors(write(GOOD));
  assert.deepEqual(
    attestors.map((a) => a.name),
    ['store', 'archivista', 'notes', 'static'],
  );
  assert.deepEqual(options, {
    concurrency: 8,
    timeoutMs: 10000,
    ttlMs: { found: 600_000, notFound: 60_000 },
  });
  assert.equal(trust.verifiers.length, 2);
  assert.deepEqual(
    trust.signers.map((x) => x.verifierIds),
    [['https://store.example/verifier'], ['https://github.com/slsa-framework/source-tool']],
  );
  assert.ok(attestors.every((a) => /^sha256:[0-9a-f]{64}$/.test(a.trustDigest)));
});

test('a bad attestors file is CONFIG_INVALID', () => {
  const bad = [
    GOOD.replace('kind: http-store', 'kind: http'),
    GOOD.replace('name: archivista', 'name: store'),
    GOOD.replace('tracks: { BUILD: 3 }', 'tracks: { BUILD: 5 }'),
    GOOD.replace('publicKeyFile: store.pem', 'publicKeyFile: missing.pem'),
    // A key with no verifier ids speaks for none: leaving them out is a mistake, not "all".
    GOOD.replace('      verifierIds: [https://store.example/verifier]\n', ''),
    GOOD.replace('verifierIds: [https://store.example/verifier]', 'verifierIds: []'),
    GOOD.replace(
      'verifierIds: [https://store.example/verifier]',
      'verifierIds: [https://other.example/verifier]',
    ),
    GOOD.replace('resolve: {', 'resolve: { retries: 3,'),
    GOOD.replace('  - { kind: static, file: levels.yaml }', '  - { kind: archive }'),
    GOOD.replace(
      '  - { kind: static, file: levels.yaml }',
      '  - { kind: oci, name: images, registry: "127.0.0.1:5000" }',
    ),
  ];
  for (const text of bad) {
    assert.throws(
      () => loadAttestors(write(text)),
      (e) => isGateError(e) && e.code === 'CONFIG_INVALID',
      text,
    );
  }
});

test('a signer speaks for every configured verifier only when the file says `any`', () => {
  const { trust } = loadAttestors(
    write(GOOD.replace('verifierIds: [https://store.example/verifier]', 'verifierIds: any')),
  );
  assert.deepEqual(trust.signers[0]!.verifierIds, [
    'https://store.example/verifier',
    'https://github.com/slsa-framework/source-tool',
  ]);
});

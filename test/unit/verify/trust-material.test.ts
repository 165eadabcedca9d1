import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTrustedKey } from '../../../src/core/trust/trust-material.ts';
import { DEFAULT_TRUSTED_ROOT, loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import { code } from '../../helpers/error-code.ts';

const CORPUS = fileURLToPath(new URL('../../fixtures/corpus/', import.meta.url));
const KEY_1 = readFileSync(join(CORPUS, 'sigstore-js/client-v0.1-dsse-pubkey-valid/key-1.pem'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'trust-'));

test('the shipped root is the public-good root from the corpus, named sigstore-public-good', () => {
  assert.deepEqual(
    readFileSync(DEFAULT_TRUSTED_ROOT),
    readFileSync(join(CORPUS, '_trust/sigstore-public-good-trusted_root.json')),
  );
  const trust = loadTrustMaterial();
  assert.equal(trust.rootName, 'sigstore-public-good');
  assert.ok(trust.sigstore.certificateAuthorities.length > 0 && trust.sigstore.tlogs.length > 0);
  assert.match(trust.digest, /^sha256:[0-9a-f]{64}$/);
});

test('a custom root is named by its digest; the digest is stable and covers every input', () => {
  const custom = join(CORPUS, 'gh-cli/npm-sigstore-2.1.0-two-bundles-custom-root/trusted_root.json');
  const a = loadTrustMaterial({ trustedRoot: custom });
  assert.match(a.rootName, /^trusted-root:sha256:[0-9a-f]{64}$/);
  assert.equal(loadTrustMaterial({ trustedRoot: custom }).digest, a.digest);
  const digests = new Set([
    loadTrustMaterial().digest,
    a.digest,
    loadTrustMaterial({ publicKeys: [{ keyId: 'key-1', pem: KEY_1 }] }).digest,
    loadTrustMaterial({ publicKeys: [{ keyId: 'key-2', pem: KEY_1 }] }).digest,
    loadTrustMaterial({ npmKeys: join(CORPUS, '_trust/npm-registry-keys.json') }).digest,
    loadTrustMaterial({ gcbKeysDir: join(CORPUS, '_trust/gcb-keys') }).digest,
  ]);
  assert.equal(digests.size, 6);
});

test('key lookup: exact key id first, then npm registry keys by hint, then a key given without id', () => {
  const trust = loadTrustMaterial({
    publicKeys: [{ keyId: 'key-1', pem: KEY_1 }],
    npmKeys: join(CORPUS, '_trust/npm-registry-keys.json'),
  });
  assert.equal(findTrustedKey(trust, 'key-1')?.trustedBy, 'public-key:key-1');
  assert.equal(findTrustedKey(trust, 'key-2'), undefined);
  const npm = findTrustedKey(trust, 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA');
  assert.equal(npm?.trustedBy, 'npm-registry:SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA');
  // only keyUsage npm:attestations keys, with their validity window
  assert.equal(npm?.validFor.start.toISOString(), '2022-12-01T00:00:00.000Z');
  assert.ok(trust.npmKeys.every((k) => k.trustedBy.startsWith('npm-registry:')));
  assert.equal(trust.npmKeys.length, 2);
  const any = loadTrustMaterial({ publicKeys: [{ keyId: '', pem: KEY_1 }] });
  assert.equal(findTrustedKey(any, 'whatever')?.trustedBy, 'public-key');
});

test('GCB keys are loaded by file name', () => {
  const trust = loadTrustMaterial({ gcbKeysDir: join(CORPUS, '_trust/gcb-keys') });
  assert.ok(trust.gcbKeys.has('us-west2'));
  assert.ok(trust.gcbKeys.has('global-pae-provenanceSigner_1'));
  assert.equal(trust.gcbKeys.get('us-west2')?.asymmetricKeyType, 'ec');
});

test('unreadable or malformed trust material is CONFIG_INVALID', () => {
  assert.equal(
    code(() => loadTrustMaterial({ trustedRoot: join(tmp, 'missing.json') })),
    'CONFIG_INVALID',
  );
  const notJson = join(tmp, 'bad.json');
  writeFileSync(notJson, '{');
  assert.equal(
    code(() => loadTrustMaterial({ trustedRoot: notJson })),
    'CONFIG_INVALID',
  );
  const wrongType = join(tmp, 'wrong-type.json');
  writeFileSync(wrongType, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }));
  assert.equal(
    code(() => loadTrustMaterial({ trustedRoot: wrongType })),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() => loadTrustMaterial({ publicKeys: [{ keyId: 'k', pem: 'not a key' }] })),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() => loadTrustMaterial({ npmKeys: notJson })),
    'CONFIG_INVALID',
  );
  const npmBad = join(tmp, 'npm.json');
  writeFileSync(npmBad, JSON.stringify({ keys: [{ keyId: 'x' }] }));
  assert.equal(
    code(() => loadTrustMaterial({ npmKeys: npmBad })),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() => loadTrustMaterial({ gcbKeysDir: join(tmp, 'no-such-dir') })),
    'CONFIG_INVALID',
  );
});

test('the same sources give the same trust material for the life of the process; any changed input another', () => {
  const root = join(tmp, 'reused-root.json');
  writeFileSync(root, readFileSync(DEFAULT_TRUSTED_ROOT));
  const first = loadTrustMaterial({ trustedRoot: root, publicKeys: [{ keyId: 'k', pem: KEY_1 }] });
  assert.equal(loadTrustMaterial({ trustedRoot: root, publicKeys: [{ keyId: 'k', pem: KEY_1 }] }), first);
  assert.notEqual(
    loadTrustMaterial({ trustedRoot: root, publicKeys: [{ keyId: 'other', pem: KEY_1 }] }),
    first,
  );
  // The file's bytes change under the same name: it is read and built again.
  writeFileSync(root, `${readFileSync(DEFAULT_TRUSTED_ROOT, 'utf8')}\n`);
  const edited = loadTrustMaterial({ trustedRoot: root, publicKeys: [{ keyId: 'k', pem: KEY_1 }] });
  assert.notEqual(edited, first);
  assert.notEqual(edited.digest, first.digest);
});

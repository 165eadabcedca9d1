import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { publicKeyFingerprint } from '../../../src/signing/signing-key.ts';
import { loadVsaKeySet, vsaKeySetPem } from '../../../src/signing/vsa-key-set.ts';
import { code } from '../../helpers/error-code.ts';

const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-key-set-'));
const pemOf = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  key.export({ type: 'spki', format: 'pem' }).toString();
const current = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const retired = generateKeyPairSync('ed25519');
const currentFile = join(dir, 'current.pub');
const retiredFile = join(dir, 'retired.pub');
writeFileSync(currentFile, pemOf(current.publicKey));
writeFileSync(retiredFile, pemOf(retired.publicKey));
const retiredList = (entries: unknown) => {
  const path = join(dir, `retired-${Math.random()}.json`);
  writeFileSync(path, JSON.stringify(entries));
  return path;
};

test('the key set lists the current key, then the retired ones, each with its fingerprint and validity', () => {
  const set = loadVsaKeySet({
    SLSA_GATE_VSA_PUBLIC_KEY: currentFile,
    SLSA_GATE_VSA_KEY_ID: 'gate-2026',
    SLSA_GATE_VSA_KEY_NOT_BEFORE: '2026-01-01T00:00:00Z',
    SLSA_GATE_VSA_RETIRED_KEYS: retiredList([
      {
        keyId: 'gate-2025',
        publicKey: retiredFile,
        notBefore: '2025-01-01T00:00:00Z',
        notAfter: '2026-01-01T00:00:00Z',
      },
    ]),
  });
  assert.deepEqual(
    set.keys.map((k) => [k.keyId, k.status, k.algorithm, k.fingerprint, k.notBefore, k.notAfter]),
    [
      [
        'gate-2026',
        'current',
        'ecdsa-p256',
        publicKeyFingerprint(pemOf(current.publicKey)),
        '2026-01-01T00:00:00Z',
        undefined,
      ],
      [
        'gate-2025',
        'retired',
        'ed25519',
        publicKeyFingerprint(pemOf(retired.publicKey)),
        '2025-01-01T00:00:00Z',
        '2026-01-01T00:00:00Z',
      ],
    ],
  );
  const pem = vsaKeySetPem(set);
  assert.match(
    pem,
    /^# gate-2026 sha256:[0-9a-f]{64} current notBefore=2026-01-01T00:00:00Z\n-----BEGIN PUBLIC KEY-----/,
  );
  assert.match(pem, /# gate-2025 sha256:[0-9a-f]{64} retired notBefore=\S+ notAfter=2026-01-01T00:00:00Z\n/);
});

test('a key set that would say nothing, or something ambiguous, is refused', () => {
  assert.equal(
    code(() => loadVsaKeySet({})),
    'CONFIG_INVALID',
  );
  // A private key where the public one is expected is not published.
  const privateFile = join(dir, 'private.pem');
  writeFileSync(privateFile, current.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  assert.equal(
    code(() => loadVsaKeySet({ SLSA_GATE_VSA_PUBLIC_KEY: join(dir, 'missing.pub') })),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() => loadVsaKeySet({ SLSA_GATE_VSA_PUBLIC_KEY: privateFile })),
    'CONFIG_INVALID',
  );
  assert.equal(
    code(() =>
      loadVsaKeySet({ SLSA_GATE_VSA_PUBLIC_KEY: currentFile, SLSA_GATE_VSA_KEY_NOT_BEFORE: 'yesterday' }),
    ),
    'CONFIG_INVALID',
  );
  const bad = [
    // A retired key without an end.
    [{ keyId: 'old', publicKey: retiredFile }],
    // Two keys under one id.
    [{ keyId: 'slsa-gate-vsa', publicKey: retiredFile, notAfter: '2026-01-01T00:00:00Z' }],
    [{ keyId: 'old', publicKey: retiredFile, notAfter: '2026-01-01T00:00:00Z', extra: true }],
  ];
  for (const entries of bad)
    assert.equal(
      code(() =>
        loadVsaKeySet({
          SLSA_GATE_VSA_PUBLIC_KEY: currentFile,
          SLSA_GATE_VSA_RETIRED_KEYS: retiredList(entries),
        }),
      ),
      'CONFIG_INVALID',
      JSON.stringify(entries),
    );
});

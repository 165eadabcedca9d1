import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { verifyPrehashed } from '../../../src/core/verify/prehashed-signature.ts';

// Keys generated per run; signatures made by Node over the message, verified here over its digest.
const cases = [
  { name: 'ECDSA P-256 / SHA-256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }), hash: 'sha256' },
  { name: 'ECDSA P-384 / SHA-384', key: generateKeyPairSync('ec', { namedCurve: 'P-384' }), hash: 'sha384' },
  {
    name: 'RSA-2048 PKCS#1 v1.5 / SHA-256',
    key: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    hash: 'sha256',
  },
] as const;

for (const c of cases) {
  test(`${c.name}: verifies over the digest; another digest or signature fails`, () => {
    const message = Buffer.from('hello, world!');
    const digest = createHash(c.hash).update(message).digest();
    const sig = sign(c.hash, message, c.key.privateKey);
    assert.equal(verifyPrehashed(c.key.publicKey, digest, sig), true);
    const otherDigest = createHash(c.hash).update('hello, world?').digest();
    assert.equal(verifyPrehashed(c.key.publicKey, otherDigest, sig), false);
    const bad = Buffer.from(sig);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 1, bad.length - 1);
    assert.equal(verifyPrehashed(c.key.publicKey, digest, bad), false);
    assert.equal(verifyPrehashed(c.key.publicKey, digest, Buffer.alloc(0)), false);
  });
}

test('ECDSA in IEEE P1363 form verifies too', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sig = sign('sha256', Buffer.from('x'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  assert.equal(verifyPrehashed(publicKey, createHash('sha256').update('x').digest(), sig), true);
});

test('Ed25519 cannot verify a prehash: false, never a pass', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const message = Buffer.from('x');
  const sig = sign(null, message, privateKey);
  assert.equal(verifyPrehashed(publicKey, createHash('sha256').update(message).digest(), sig), false);
});

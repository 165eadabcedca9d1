/**
 * `slsa-gate conformance verify-bundle` through the real CLI, on corpus bundles:
 * certificates and keys, artifact files and `sha256:` digests, message signatures and DSSE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSyntheticKeyBundle } from './synthetic-log.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CORPUS = join(ROOT, 'test/fixtures/corpus');
const MSGSIG = join(CORPUS, 'sigstore-js/client-v0.3-msgsig-cert-valid');
const GITHUB = join(CORPUS, 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
const NPM = join(CORPUS, 'slsa-verifier/npm-sigstore-2.3.1-valid');
const tmp = mkdtempSync(join(tmpdir(), 'conformance-'));

function cli(args: string[]): Promise<{ exit: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/slsa-gate.js'), 'conformance', 'verify-bundle', ...args],
      (err, stdout, stderr) => {
        done({ exit: err ? Number((err as { code?: unknown }).code) : 0, stdout, stderr });
      },
    );
  });
}
const sha256 = (path: string): string =>
  `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

// The npm registry's publish attestation (key-signed, bundle v0.2) and its registry key as PEM.
const npmDoc = JSON.parse(readFileSync(join(NPM, 'attestations.json'), 'utf8')) as {
  attestations: Array<{ bundle: unknown }>;
};
const npmBundle = join(tmp, 'npm-publish.sigstore.json');
writeFileSync(npmBundle, JSON.stringify(npmDoc.attestations[0]!.bundle));
const npmKeys = JSON.parse(readFileSync(join(CORPUS, '_trust/npm-registry-keys.json'), 'utf8')) as {
  keys: Array<{ keyId: string; keyUsage: string; publicKey: { rawBytes: string } }>;
};
const pem = (rawBytes: string): string =>
  createPublicKey({ key: Buffer.from(rawBytes, 'base64'), format: 'der', type: 'spki' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
const npmKey = join(tmp, 'npm.pem');
writeFileSync(
  npmKey,
  pem(
    npmKeys.keys.find((k) => k.keyUsage === 'npm:attestations' && k.keyId.startsWith('SHA256:jl3b'))!
      .publicKey.rawBytes,
  ),
);
const otherKey = join(tmp, 'other.pem');
writeFileSync(otherKey, pem(npmKeys.keys.find((k) => k.keyId.startsWith('SHA256:DhQ8'))!.publicKey.rawBytes));

const msgsig = [
  '--bundle',
  join(MSGSIG, 'bundle.sigstore.json'),
  '--certificate-identity',
  'brian@dehamer.com',
  '--certificate-oidc-issuer',
  'https://github.com/login/oauth',
  '--trusted-root',
  join(MSGSIG, 'trusted_root.json'),
];

test('certificate, message signature, artifact file: exit 0', async () => {
  const r = await cli([...msgsig, join(MSGSIG, 'artifact')]);
  assert.equal(r.exit, 0, r.stderr);
});

test('certificate, message signature, sha256 digest: exit 0; another digest: exit 1', async () => {
  assert.equal((await cli([...msgsig, sha256(join(MSGSIG, 'artifact'))])).exit, 0);
  const r = await cli([...msgsig, `sha256:${'0'.repeat(64)}`]);
  assert.equal(r.exit, 1);
  assert.match(r.stderr, /SIGNATURE_ERROR/);
});

test('certificate identity and issuer are compared exactly', async () => {
  const prefix = msgsig.map((a) => (a === 'brian@dehamer.com' ? 'brian@dehamer.co' : a));
  assert.match((await cli([...prefix, join(MSGSIG, 'artifact')])).stderr, /IDENTITY_MISMATCH/);
  const issuer = msgsig.map((a) => (a === 'https://github.com/login/oauth' ? 'https://github.com/login' : a));
  assert.equal((await cli([...issuer, join(MSGSIG, 'artifact')])).exit, 1);
});

test('certificate, DSSE, pinned public-good root, file and digest: exit 0; wrong artifact: exit 1', async () => {
  const args = [
    '--bundle',
    join(GITHUB, 'provenance.intoto.jsonl'),
    '--certificate-identity',
    'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0',
    '--certificate-oidc-issuer',
    'https://token.actions.githubusercontent.com',
  ];
  assert.equal((await cli([...args, join(GITHUB, 'artifact')])).exit, 0);
  assert.equal((await cli([...args, sha256(join(GITHUB, 'artifact'))])).exit, 0);
  const r = await cli([...args, join(MSGSIG, 'artifact')]);
  assert.equal(r.exit, 1);
  assert.match(r.stderr, /SUBJECT_MISMATCH/);
});

test('key, DSSE publish attestation, artifact file: exit 0; another key: exit 1', async () => {
  const tgz = join(NPM, 'package.tgz');
  const ok = await cli(['--bundle', npmBundle, '--key', npmKey, tgz]);
  assert.equal(ok.exit, 0, ok.stderr);
  assert.equal((await cli(['--bundle', npmBundle, '--key', otherKey, tgz])).exit, 1);
  // its subject names the tgz by sha512 only: a sha256 digest cannot bind it
  assert.match((await cli(['--bundle', npmBundle, '--key', npmKey, sha256(tgz)])).stderr, /SUBJECT_MISMATCH/);
});

test('a certificate bundle checked with --key fails; usage errors exit 2', async () => {
  assert.equal(
    (
      await cli([
        '--bundle',
        join(MSGSIG, 'bundle.sigstore.json'),
        '--key',
        npmKey,
        '--trusted-root',
        join(MSGSIG, 'trusted_root.json'),
        join(MSGSIG, 'artifact'),
      ])
    ).exit,
    1,
  );
  assert.equal(
    (await cli(['--bundle', join(MSGSIG, 'bundle.sigstore.json'), join(MSGSIG, 'artifact')])).exit,
    2,
  );
  assert.equal((await cli([...msgsig])).exit, 2);
  assert.equal((await cli([...msgsig, '--key', npmKey, join(MSGSIG, 'artifact')])).exit, 2);
});

test('key, message signature, file and sha256 digest (self-made log and key): exit 0; tampered digest: exit 1', async () => {
  const s = makeSyntheticKeyBundle();
  const args = ['--bundle', s.bundle, '--key', s.signingKeyFile, '--trusted-root', s.trustedRoot];
  const file = await cli([...args, s.artifact]);
  assert.equal(file.exit, 0, file.stderr);
  const digest = await cli([...args, s.artifactDigest]);
  assert.equal(digest.exit, 0, digest.stderr);
  assert.equal((await cli([...args, `sha256:${'1'.repeat(64)}`])).exit, 1);
  const wrongKey = ['--bundle', s.bundle, '--key', npmKey, '--trusted-root', s.trustedRoot, s.artifactDigest];
  assert.equal((await cli(wrongKey)).exit, 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from '@sigstore/core';
import {
  certificateIssuer,
  decodeDerUtf8String,
  fulcioExtensions,
} from '../../../src/core/verify/certificate-extensions.ts';

const CORPUS = fileURLToPath(new URL('../../fixtures/corpus/', import.meta.url));
function leaf(path: string): X509Certificate {
  const b = JSON.parse(readFileSync(CORPUS + path, 'utf8')) as {
    verificationMaterial: {
      certificate?: { rawBytes: string };
      x509CertificateChain?: { certificates: Array<{ rawBytes: string }> };
    };
  };
  const raw =
    b.verificationMaterial.certificate?.rawBytes ??
    b.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes;
  return X509Certificate.parse(Buffer.from(raw, 'base64'));
}

test('GitHub Actions certificate: every Fulcio extension by its spec name', () => {
  const ext = fulcioExtensions(
    leaf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid/provenance.intoto.jsonl'),
  );
  assert.equal(ext.issuer, 'https://token.actions.githubusercontent.com');
  assert.equal(ext.issuerV1, 'https://token.actions.githubusercontent.com');
  assert.equal(certificateIssuer(ext), 'https://token.actions.githubusercontent.com');
  assert.equal(
    ext.buildSignerURI,
    'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0',
  );
  assert.equal(ext.sourceRepositoryURI, 'https://github.com/slsa-framework/example-package');
  assert.equal(ext.sourceRepositoryOwnerURI, 'https://github.com/slsa-framework');
  assert.match(ext.sourceRepositoryDigest ?? '', /^[0-9a-f]{40}$/);
  assert.equal(ext.sourceRepositoryRef, 'refs/heads/main');
  assert.match(ext.sourceRepositoryIdentifier ?? '', /^\d+$/);
  assert.match(ext.sourceRepositoryOwnerIdentifier ?? '', /^\d+$/);
  assert.equal(ext.buildTrigger, 'workflow_dispatch');
  assert.equal(ext.runnerEnvironment, 'github-hosted');
  assert.match(
    ext.runInvocationURI ?? '',
    /^https:\/\/github\.com\/slsa-framework\/example-package\/actions\/runs\/\d+/,
  );
  assert.equal(ext.githubWorkflowTrigger, 'workflow_dispatch');
  assert.equal(ext.githubWorkflowRepository, 'slsa-framework/example-package');
  assert.equal(ext.githubWorkflowSha, ext.sourceRepositoryDigest);
});

test('e-mail certificate: only the v1 issuer extension', () => {
  const ext = fulcioExtensions(leaf('sigstore-js/client-v0.3-msgsig-cert-valid/bundle.sigstore.json'));
  assert.equal(certificateIssuer(ext), 'https://github.com/login/oauth');
  assert.equal(ext.buildSignerURI, undefined);
});

test('DER UTF8String decoding rejects other tags, bad lengths and invalid UTF-8', () => {
  assert.equal(decodeDerUtf8String(Uint8Array.from([0x0c, 0x02, 0x68, 0x69])), 'hi');
  const long = 'x'.repeat(200);
  assert.equal(decodeDerUtf8String(Uint8Array.from([0x0c, 0x81, 200, ...Buffer.from(long)])), long);
  assert.throws(() => decodeDerUtf8String(Uint8Array.from([0x13, 0x02, 0x68, 0x69])));
  assert.throws(() => decodeDerUtf8String(Uint8Array.from([0x0c, 0x03, 0x68, 0x69])));
  assert.throws(() => decodeDerUtf8String(Uint8Array.from([0x0c, 0x01, 0x68, 0x69])));
  assert.throws(() => decodeDerUtf8String(Uint8Array.from([0x0c, 0x01, 0xff])));
});

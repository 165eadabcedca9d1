/**
 * A rule's `bundleV01: reject` refuses every Sigstore bundle v0.1, however it was delivered:
 * bare, or inside an npm attestations document (docs/security-model.md#one-verification-per-publish).
 * What decides is the version of the bundle that verified, not the container it came in.
 *
 * Material: a keyless bundle from a self-made Sigstore instance (test/helpers/self-made-sigstore.ts:
 * CA, CT log and Rekor v1 log with inclusion proof and checkpoint), turned by the attacker into
 * a v0.1 bundle: the v0.1 media type, and the leaf moved from `certificate` (v0.3) to
 * `x509CertificateChain` (v0.1). Neither is signed, so it verifies as a v0.1 bundle with an
 * inclusion proof. The attacker then wraps it in an npm attestations document.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { PolicyRuleSchema } from '../../../src/core/policy/policy-rule.ts';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import { buildTrustMaterial } from '../../../src/core/trust/trust-material.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { verifyAndEvaluate } from '../../../src/core/verify-and-evaluate.ts';
import { selfMadeSigstore } from '../../helpers/self-made-sigstore.ts';

const instance = selfMadeSigstore();
const trust = buildTrustMaterial({
  trustedRoot: { bytes: Buffer.from(JSON.stringify(instance.trustedRoot)), origin: 'self-made' },
  publicGoodRootDigest: '',
});
const sha256 = createHash('sha256').update('bundle v0.1 stance').digest('hex');
const issued = instance.issue(sha256);
const vm = issued.json.verificationMaterial as Record<string, unknown>;
const { certificate, ...rest } = vm;
const v01 = {
  ...issued.json,
  mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
  verificationMaterial: { ...rest, x509CertificateChain: { certificates: [certificate] } },
};
const npmDocument = {
  attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', bundle: v01 }],
};

function identityOf(bytes: Buffer, bundleV01: 'reject' | 'accept') {
  const { verified, evaluation } = verifyAndEvaluate(
    {
      artifact: { digests: { sha256 } },
      attestations: loadAttestations(bytes, 'attacker.json'),
      trust,
      trustMap: defaultTrustMap(),
      now: new Date(),
    },
    PolicyRuleSchema.parse({ bundleV01 }),
  );
  assert.equal(verified.length, 1, 'the v0.1 bundle verifies, with its inclusion proof');
  assert.equal(verified[0]!.transparency.inclusionProof, true);
  return evaluation.checks.find((c) => c.id === 'identity');
}

test('bundleV01: reject refuses a bare v0.1 bundle', () => {
  assert.equal(identityOf(Buffer.from(JSON.stringify(v01)), 'reject')?.code, 'BUNDLE_MALFORMED');
});

test('bundleV01: reject refuses a v0.1 bundle inside an npm attestations document', () => {
  assert.equal(identityOf(Buffer.from(JSON.stringify(npmDocument)), 'reject')?.code, 'BUNDLE_MALFORMED');
});

test('bundleV01: accept takes it either way', () => {
  assert.notEqual(identityOf(Buffer.from(JSON.stringify(v01)), 'accept')?.result, 'FAIL');
  assert.notEqual(identityOf(Buffer.from(JSON.stringify(npmDocument)), 'accept')?.result, 'FAIL');
});

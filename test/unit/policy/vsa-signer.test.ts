/**
 * Issue 11 class 1: in VSA mode a VSA counts only when a signer the operator configured
 * signed it. slsa-verifier verify-vsa verifies the VSA with the given public key and
 * nothing else; a VSA from any Sigstore identity must not stand in for it.
 *
 * Real material: slsa-verifier's Google BCID VSA (corpus vsa-google-bcid-valid), verified
 * with its real public key. Attacker material: the same VSA statement with its resource
 * URI and level changed to another image at a higher level, carried with the signer
 * verifySigstoreBundle reports for a certificate the attacker obtained from Fulcio for
 * their own e-mail (the signature layer verifies such a bundle under the public-good root;
 * whether that signer is trusted is the policy layer's decision, tested here).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VerifiedAttestation } from '../../../src/core/model.ts';
import { ruleFromVerifierFlags } from '../../../src/core/policy/verifier-flags.ts';
import { evaluate } from '../../../src/core/policy/evaluate.ts';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { verifyAttestations } from '../../../src/core/verify/verify-attestations.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import { CORPUS_DIR, withSigner, withStatement } from '../provenance/corpus-attestations.ts';

const CASE = join(CORPUS_DIR, 'slsa-verifier/vsa-google-bcid-valid');
const VERIFIER = 'https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1';
const RESOURCE = 'gce_image://gke-node-images:gke-12615-gke1418000-cos-101-17162-463-29-c-cgpv1-pre';
// Known only by the subject digest slsa-verifier's test names (`--digest gce_image_id:…`).
const ARTIFACT = {
  digests: { sha256: '' },
  namedDigests: { gce_image_id: '8970095005306000053' },
  uri: RESOURCE,
};
const NOW = new Date('2026-01-01T00:00:00Z');

function realVsa(keyId: string): VerifiedAttestation {
  const trust = loadTrustMaterial({
    publicKeys: [{ keyId, pem: readFileSync(join(CASE, 'vsa_signing_public_key.pem'), 'utf8') }],
  });
  const inputs = loadAttestations(readFileSync(join(CASE, 'vsa.dsse.jsonl')), 'vsa.dsse.jsonl');
  const { verified, rejected } = verifyAttestations(inputs, { artifact: ARTIFACT, trust, now: NOW });
  assert.deepEqual(rejected, []);
  assert.equal(verified.length, 1);
  return verified[0]!;
}

function vsaOutcome(att: VerifiedAttestation, levels: string[], resourceUri = RESOURCE) {
  const rule = ruleFromVerifierFlags({ verifierId: VERIFIER, resourceUri, verifiedLevels: levels });
  return evaluate({ artifact: ARTIFACT, attestations: [att], rule, trustMap: defaultTrustMap(), now: NOW });
}

test('VSA mode: the VSA verified with the configured public key passes', () => {
  for (const keyId of ['', 'keystore://76574:prod:vsa_signing_public_key']) {
    const ev = vsaOutcome(realVsa(keyId), ['SLSA_BUILD_LEVEL_2']);
    assert.equal(ev.outcome, 'PASSED', JSON.stringify(ev.checks));
  }
});

test('VSA mode: a VSA signed by an attacker Sigstore identity is not one the operator configured', () => {
  const other = 'gce_image://attacker-images:backdoored';
  const forged = withSigner(
    withStatement(realVsa(''), (s) => {
      const predicate = s.predicate as { resourceUri: string; verifiedLevels: string[] };
      predicate.resourceUri = other;
      predicate.verifiedLevels = ['SLSA_BUILD_LEVEL_3'];
    }),
    (signer) => {
      signer.kind = 'certificate';
      delete signer.keyId;
      signer.identity = 'mallory@example.com';
      signer.issuer = 'https://github.com/login/oauth';
      signer.trustedBy = 'sigstore-public-good';
    },
  );
  const ev = vsaOutcome(forged, ['SLSA_BUILD_LEVEL_3'], other);
  const vsa = ev.checks.find((c) => c.id === 'vsa');
  assert.equal(vsa?.result, 'FAIL', vsa?.reason);
  assert.equal(vsa?.code, 'VSA_MISMATCH');
  assert.equal(ev.outcome, 'FAILED');
});

test('VSA mode: a VSA verified by a key the trust material ships for another purpose does not count', () => {
  // The same real VSA reported as verified by an npm registry key or a Cloud Build KMS key
  // (trust material for provenance, never for VSAs).
  for (const trustedBy of ['npm-registry:SHA256:abc', 'gcb-kms:global']) {
    const att = withSigner(realVsa('keystore://76574:prod:vsa_signing_public_key'), (s) => {
      s.trustedBy = trustedBy;
    });
    const ev = vsaOutcome(att, ['SLSA_BUILD_LEVEL_2']);
    assert.equal(ev.outcome, 'FAILED', trustedBy);
    assert.equal(ev.checks.find((c) => c.id === 'vsa')?.code, 'VSA_MISMATCH');
  }
});

test('a rule naming its VSA key by id counts that configured key only, not a shipped key of the same id', () => {
  // Failing before: a `vsa.identities` entry `{ keyId }` was compared with the signer's key id
  // alone, so a key of that id from the npm registry keys or the Cloud Build keys (trust
  // material for provenance) stood in for the configured VSA key. The VSA is the real one,
  // reported as verified by such a key, as in the test above.
  const keyId = 'keystore://76574:prod:vsa_signing_public_key';
  const rule = ruleFromVerifierFlags({
    verifierId: VERIFIER,
    resourceUri: RESOURCE,
    verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
  });
  rule.vsa = { ...rule.vsa!, identities: [{ keyId }] };
  const outcome = (att: VerifiedAttestation) =>
    evaluate({ artifact: ARTIFACT, attestations: [att], rule, trustMap: defaultTrustMap(), now: NOW });
  assert.equal(outcome(realVsa(keyId)).outcome, 'PASSED');
  for (const trustedBy of [`npm-registry:${keyId}`, 'gcb-kms:global']) {
    const ev = outcome(withSigner(realVsa(keyId), (s) => void (s.trustedBy = trustedBy)));
    assert.equal(ev.outcome, 'FAILED', trustedBy);
    assert.equal(ev.checks.find((c) => c.id === 'vsa')?.code, 'VSA_MISMATCH');
  }
});

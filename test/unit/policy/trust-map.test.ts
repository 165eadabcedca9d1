/** The builder trust map: shipped defaults load through the schema; lookups over real signers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import { normaliseProvenance } from '../../../src/core/provenance/normalise-provenance.ts';
import { builderTrust, defaultTrustMap, parseTrustMap } from '../../../src/core/policy/trust-map.ts';
import { provenanceOf, withSigner } from '../provenance/corpus-attestations.ts';

function levelOf(caseId: string): number {
  const att = provenanceOf(caseId);
  return builderTrust(defaultTrustMap(), att.signer, normaliseProvenance(att).provenance).level;
}

test('default trust map loads and names the shipped builders', () => {
  const map = defaultTrustMap();
  assert.equal(map.version, 1);
  assert.ok(map.builders.length >= 7);
  assert.deepEqual(map.revoked, []);
});

test('levels of real builders: generator L3, BYOB L3, GCB L3, npm CLI L2, attest in a named reusable workflow L3, attest L2', () => {
  assert.equal(levelOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid'), 3);
  assert.equal(levelOf('slsa-verifier/gha-go-v2.1.0-dispatch-valid'), 3);
  assert.equal(levelOf('slsa-verifier/gha-container-based-v2.1.0-valid'), 3);
  assert.equal(levelOf('slsa-verifier/gha-gradle-v2.1.0-valid'), 3);
  assert.equal(levelOf('slsa-verifier/gha-byob-delegator-v2.1.0-valid'), 3);
  assert.equal(levelOf('slsa-verifier/gcb-v0.3-valid'), 3);
  assert.equal(levelOf('slsa-verifier/npm-cli-provenance-v0.2-valid'), 2);
  assert.equal(levelOf('slsa-verifier/npm-sigstore-2.3.1-valid'), 2);
  assert.equal(levelOf('gh-cli/github-attestation-reusable-workflow-valid'), 3);
  // bazel-contrib/publish-to-bcr is a third party's reusable workflow the shipped map does not
  // name: L2 like any attestation in a workflow on a GitHub-hosted runner.
  assert.equal(levelOf('slsa-verifier/github-attestation-bcr-module-valid'), 2);
});

test('an operator who names a reusable workflow in the map gives it L3', () => {
  const map = defaultTrustMap();
  const named = map.builders.find((e) => e.name.includes('named reusable workflow'))!;
  map.builders.push({
    ...structuredClone(named),
    name: 'publish-to-bcr, reviewed by the operator',
    signer: {
      ...named.signer,
      identityPattern:
        '^https://github\\.com/bazel-contrib/publish-to-bcr/\\.github/workflows/publish\\.yaml@refs/tags/v[0-9.]+$',
    },
  });
  const att = provenanceOf('slsa-verifier/github-attestation-bcr-module-valid');
  assert.equal(builderTrust(map, att.signer, normaliseProvenance(att).provenance).level, 3);
});

test('unknown builders are level 0: a fork, a builder at a branch, an unknown issuer', () => {
  assert.equal(levelOf('slsa-verifier/gha-malicious-untrusted-builder'), 0);
  assert.equal(levelOf('slsa-verifier/bundle-v0.3-valid'), 0);
  assert.equal(levelOf('gh-cli/github-attestation-custom-issuer-valid'), 0);
});

test('a key that is not a Cloud Build key does not make GCB provenance trusted', () => {
  const att = withSigner(provenanceOf('slsa-verifier/gcb-v0.3-valid'), (s) => {
    s.keyId = 'projects/evil/locations/global/keyRings/attestor/cryptoKeys/builtByGCB/cryptoKeyVersions/1';
  });
  assert.equal(builderTrust(defaultTrustMap(), att.signer, normaliseProvenance(att).provenance).level, 0);
});

test('revoked builder versions give level 0 and say why', () => {
  const map = defaultTrustMap();
  const att = provenanceOf('slsa-verifier/gha-go-v2.1.0-dispatch-valid');
  const id = normaliseProvenance(att).provenance.builder.id;
  map.revoked.push({ builderId: id, reason: 'test' });
  const trust = builderTrust(map, att.signer, normaliseProvenance(att).provenance);
  assert.equal(trust.level, 0);
  assert.equal(trust.revoked?.builderId, id);
});

test('trust map schema: unanchored patterns, missing issuer and unknown fields are CONFIG_INVALID', () => {
  const entry = {
    name: 'x',
    signer: { kind: 'certificate', issuer: 'https://issuer', identityPattern: 'github' },
    builder: { sameAsSigner: true },
    level: 3,
    surprise: true,
  };
  try {
    parseTrustMap(
      { version: 1, builders: [entry, { ...entry, signer: { kind: 'certificate', identity: 'x' } }] },
      'map.json',
    );
    assert.fail('expected CONFIG_INVALID');
  } catch (err) {
    assert.ok(isGateError(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    const paths = ((err.detail?.issues ?? []) as Array<{ path: string }>).map((i) => i.path);
    assert.ok(paths.includes('builders[0].signer.identityPattern'), paths.join(','));
    assert.ok(paths.includes('builders[0]'), paths.join(','));
    assert.ok(paths.includes('builders[1].signer.issuer'), paths.join(','));
  }
});

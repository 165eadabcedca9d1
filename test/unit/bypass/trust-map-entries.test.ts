/**
 * Issue 11 class 3: a trust-map entry grants its level only to signers that earn it. Real
 * material: the provenance of corpus cases signed on GitHub-hosted runners. Attacker
 * material: Fulcio-like certificates made here (attacker-material.ts, openssl with the
 * Fulcio extension OIDs) carrying the real certificate's extensions except what the attacker
 * controls: a self-hosted runner, or the attacker's own reusable workflow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseProvenance } from '../../../src/core/provenance/normalise-provenance.ts';
import { builderTrust, defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import type { VerifiedAttestation } from '../../../src/core/model.ts';
import { certificateSigner, provenanceOf } from '../provenance/corpus-attestations.ts';
import { fulcioLikeCertificate } from './attacker-material.ts';

function levelOf(att: VerifiedAttestation): number {
  return builderTrust(defaultTrustMap(), att.signer, normaliseProvenance(att).provenance).level;
}

/** The attestation as signed by a certificate made here with these changes to the real one. */
function resignedBy(
  att: VerifiedAttestation,
  change: { san?: string; extensions: Record<string, string> },
): VerifiedAttestation {
  const real = att.signer;
  const der = fulcioLikeCertificate(change.san ?? real.identity!, real.issuer!, {
    ...real.extensions,
    ...change.extensions,
  });
  return { ...att, signer: certificateSigner(der) };
}

test('class 3: an npm CLI build on a self-hosted runner earns nothing from the npm CLI entry', () => {
  for (const id of [
    'slsa-verifier/npm-sigstore-2.3.1-valid',
    'slsa-verifier/npm-cli-provenance-v0.2-valid',
  ]) {
    const real = provenanceOf(id);
    assert.equal(levelOf(real), 2, `${id} as signed on a GitHub-hosted runner`);
    // The attacker's own workflow on their self-hosted runner gets the same certificate from
    // Fulcio except the Runner Environment extension, and writes the same builder id.
    const selfHosted = resignedBy(real, { extensions: { runnerEnvironment: 'self-hosted' } });
    assert.equal(selfHosted.signer.extensions.runnerEnvironment, 'self-hosted');
    assert.equal(levelOf(selfHosted), 0, id);
  }
});

test("class 3: a tenant's own reusable workflow does not reach L3", () => {
  const real = provenanceOf('gh-cli/github-attestation-reusable-workflow-valid');
  assert.equal(levelOf(real), 3, "GitHub's named attestation workflow");
  // The tenant signs from a reusable workflow in a repository of their own, called from their app.
  const workflow = 'https://github.com/tenant/tools/.github/workflows/sign.yml@refs/heads/main';
  const tenant = resignedBy(real, {
    san: workflow,
    extensions: {
      buildSignerURI: workflow,
      buildConfigURI: real.signer.extensions.buildConfigURI!,
      runnerEnvironment: 'github-hosted',
    },
  });
  assert.notEqual(tenant.signer.extensions.buildSignerURI, tenant.signer.extensions.buildConfigURI);
  assert.equal(levelOf(tenant), 2);
});

/**
 * Issue 11 classes 2 and 4: a key hint (DSSE keyid, bundle publicKey.hint) never names the
 * signer, and only the npm registry's keys sign npm publish attestations. Each case runs a
 * real corpus statement through the core's front door (verifyAndEvaluate) twice: as the
 * real signer produced it (it passes), and re-signed with an attacker's key (it must not).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { verifyAndEvaluate } from '../../../src/core/verify-and-evaluate.ts';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import { ruleFromVerifierFlags } from '../../../src/core/policy/verifier-flags.ts';
import { findTrustedKey } from '../../../src/core/trust/trust-material.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { DEFAULT_NPM_KEYS, loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import {
  attackerKey,
  CORPUS,
  corpusBytes,
  digestsOf,
  keyBundle,
  signedEnvelope,
  statementOfEnvelope,
} from './attacker-material.ts';

const GCB_CASE = 'slsa-verifier/gcb-v0.3-valid';
const GCB_KEY_NAME =
  'projects/verified-builder/locations/us-west2/keyRings/attestor/cryptoKeys/builtByGCB/cryptoKeyVersions/1';
const NPM_CASE = 'slsa-verifier/npm-sigstore-2.3.1-valid';
const NPM_ATTESTATION_KEY = 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA';
const CORPUS_ROOT = join(CORPUS, '_trust/sigstore-public-good-trusted_root.json');

test('class 2: a keyid naming Cloud Build does not make an operator-given key Cloud Build (L3)', () => {
  const gcb = JSON.parse(corpusBytes(GCB_CASE, 'provenance.gcb.json').toString('utf8')) as {
    provenance_summary: { provenance: Array<{ envelope: { payload: string } }> };
  };
  const rule = ruleFromVerifierFlags({
    builderId: 'https://cloudbuild.googleapis.com/GoogleHostedWorker',
    sourceUri: 'github.com/laurentsimon/gcb-tests',
  });
  const artifact = {
    digests: { sha256: 'f472ca4b68898c951ac3b476cba919d0d56fca4ced631fabcead51e4b2b690e7' },
  };

  // Real material: Cloud Build's own signature, verified with its KMS key.
  const real = verifyAndEvaluate(
    {
      artifact,
      attestations: loadAttestations(corpusBytes(GCB_CASE, 'provenance.gcb.json'), 'gcb'),
      trust: loadTrustMaterial({ gcbKeysDir: join(CORPUS, '_trust/gcb-keys') }),
      trustMap: defaultTrustMap(),
      now: new Date(),
    },
    rule,
  );
  assert.equal(real.evaluation.outcome, 'PASSED', JSON.stringify(real.evaluation.checks));

  // Attacker material: the same signed statement, re-signed as a bare DSSE envelope with a
  // P-256 key made here, its keyid set to Cloud Build's KMS key name; the operator configured
  // that key without an id (`--public-key attacker.pem`), as for any other key-signed input.
  const attacker = attackerKey();
  const forged = signedEnvelope(
    statementOfEnvelope(gcb.provenance_summary.provenance[0]!.envelope),
    attacker.privateKey,
    GCB_KEY_NAME,
  );
  const result = verifyAndEvaluate(
    {
      artifact,
      attestations: loadAttestations(Buffer.from(JSON.stringify(forged)), 'forged.dsse.json'),
      trust: loadTrustMaterial({ publicKeys: [{ keyId: '', pem: attacker.publicKeyPem }] }),
      trustMap: defaultTrustMap(),
      now: new Date(),
    },
    rule,
  );
  assert.equal(result.verified.length, 1, 'the signature itself verifies with the configured key');
  assert.equal(result.verified[0]!.signer.keyId, undefined, 'the keyid is not the signer');
  const builder = result.evaluation.checks.find((c) => c.id === 'builder');
  assert.deepEqual([builder?.result, builder?.code], ['FAIL', 'BUILDER_UNTRUSTED']);
  assert.equal(result.evaluation.outcome, 'FAILED');
});

test('class 4: only the npm registry signs publish attestations; a key given without id does not shadow it', () => {
  const tarball = corpusBytes(NPM_CASE, 'package.tgz');
  const artifact = { digests: digestsOf(tarball), uri: 'pkg:npm/sigstore@2.3.1' };
  const rule = ruleFromVerifierFlags({
    mode: 'npm-package',
    builderId: 'https://github.com/actions/runner/github-hosted',
    sourceUri: 'github.com/sigstore/sigstore-js',
    packageName: 'sigstore',
    packageVersion: '2.3.1',
  });
  const document = JSON.parse(corpusBytes(NPM_CASE, 'attestations.json').toString('utf8')) as {
    attestations: Array<{ predicateType: string; bundle: { dsseEnvelope: { payload: string } } }>;
  };
  const [publish, provenance] = document.attestations;
  const run = (attestations: unknown, publicKeys: Array<{ keyId: string; pem: string }>) =>
    verifyAndEvaluate(
      {
        artifact,
        attestations: loadAttestations(Buffer.from(JSON.stringify(attestations)), 'attestations.json'),
        trust: loadTrustMaterial({ trustedRoot: CORPUS_ROOT, npmKeys: DEFAULT_NPM_KEYS, publicKeys }),
        trustMap: defaultTrustMap(),
        now: new Date(),
      },
      rule,
    );

  // Real material: the registry's publish attestation and the real provenance pass.
  const real = run(document, []);
  assert.equal(real.evaluation.outcome, 'PASSED', JSON.stringify(real.evaluation.checks));

  // Attacker material: the real publish statement re-signed with a key made here, as a key-only
  // bundle whose hint is the registry's key id; the operator configured the attacker's key
  // without an id for some other input. The real provenance stays as it is.
  const attacker = attackerKey();
  const forgedPublish = {
    predicateType: publish!.predicateType,
    bundle: keyBundle(
      statementOfEnvelope(publish!.bundle.dsseEnvelope),
      attacker.privateKey,
      NPM_ATTESTATION_KEY,
    ),
  };
  const forged = run({ attestations: [forgedPublish, provenance] }, [
    { keyId: '', pem: attacker.publicKeyPem },
  ]);
  const pkg = forged.evaluation.checks.find((c) => c.id === 'package');
  assert.deepEqual([pkg?.result, pkg?.code], ['FAIL', 'PACKAGE_MISMATCH'], pkg?.reason);
  assert.equal(forged.evaluation.outcome, 'FAILED');

  // The key lookup itself: a hint naming a registry key selects that key, never the id-less one.
  const trust = loadTrustMaterial({
    npmKeys: DEFAULT_NPM_KEYS,
    publicKeys: [{ keyId: '', pem: attacker.publicKeyPem }],
  });
  assert.equal(findTrustedKey(trust, NPM_ATTESTATION_KEY)?.trustedBy, `npm-registry:${NPM_ATTESTATION_KEY}`);
});

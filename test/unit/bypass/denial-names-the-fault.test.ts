/**
 * Issue 11 class 11: a denial names what was actually wrong. Real material: the provenance
 * bundle of corpus case gha-generic-v2.1.0-dispatch-valid, which passes. Attacker material:
 * the same bundle with its signed statement edited (the builder id replaced) and the
 * signature left as it was — a tampered provenance, which must be denied for what the
 * signature layer found, not as a missing provenance.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import { ruleFromVerifierFlags } from '../../../src/core/policy/verifier-flags.ts';
import { verifyAndEvaluate } from '../../../src/core/verify-and-evaluate.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import { CORPUS, corpusBytes, digestsOf } from './attacker-material.ts';

const CASE = 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid';

test("class 11: a tampered provenance is denied with the signature layer's code and origin, not NO_PROVENANCE", () => {
  const rule = ruleFromVerifierFlags({
    builderId:
      'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml',
    sourceUri: 'github.com/slsa-framework/example-package',
  });
  const run = (bundle: Buffer) =>
    verifyAndEvaluate(
      {
        artifact: { digests: digestsOf(corpusBytes(CASE, 'artifact')) },
        attestations: loadAttestations(bundle, 'provenance.intoto.jsonl'),
        trust: loadTrustMaterial({
          trustedRoot: join(CORPUS, '_trust/sigstore-public-good-trusted_root.json'),
        }),
        trustMap: defaultTrustMap(),
        now: new Date(),
      },
      rule,
    ).evaluation;
  const real = corpusBytes(CASE, 'provenance.intoto.jsonl');
  assert.equal(run(real).outcome, 'PASSED');

  const bundle = JSON.parse(real.toString('utf8').split('\n')[0]!) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as {
    predicate: { builder: { id: string } };
  };
  statement.predicate.builder.id =
    'https://github.com/attacker/builder/.github/workflows/b.yml@refs/tags/v1.0.0';
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  const denied = run(Buffer.from(JSON.stringify(bundle)));
  assert.equal(denied.outcome, 'FAILED');
  const provenance = denied.checks.find((c) => c.id === 'provenance');
  assert.equal(provenance?.result, 'FAIL');
  // The edited payload no longer matches the hash its Rekor entry recorded: the signature layer's
  // first finding, and the code the denial carries.
  assert.equal(provenance?.code, 'TLOG_BODY_ERROR', provenance?.reason);
  assert.match(provenance?.reason ?? '', /provenance\.intoto\.jsonl/);
});

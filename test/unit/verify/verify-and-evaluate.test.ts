/**
 * The two halves of the front door (src/core/verify-and-evaluate.ts) decide as the front door
 * does: a publish verifies once with the v0.1 allowance and lets the rule decide at evaluation
 * (docs/security-model.md#one-verification-per-publish). Material: a real Sigstore v0.1 bundle
 * whose log entry has a signed entry timestamp and no inclusion proof (sigstore-js conformance
 * corpus, test/fixtures/corpus).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PolicyRuleSchema } from '../../../src/core/policy/policy-rule.ts';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import {
  evaluateVerified,
  verifyAndEvaluate,
  verifyEvidence,
} from '../../../src/core/verify-and-evaluate.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';

const DIR = fileURLToPath(
  new URL('../../fixtures/corpus/sigstore-js/client-v0.1-msgsig-cert-valid/', import.meta.url),
);
const bundle = readFileSync(join(DIR, 'bundle.sigstore.json'));
const artifactBytes = readFileSync(join(DIR, 'artifact'));
const artifact = {
  digests: { sha256: createHash('sha256').update(artifactBytes).digest('hex') },
};
const trust = loadTrustMaterial({ trustedRoot: join(DIR, 'trusted_root.json') });
const now = new Date();

for (const bundleV01 of ['accept', 'require-inclusion-proof', 'reject'] as const) {
  test(`bundleV01: ${bundleV01}: verified once with the allowance, the rule decides as the front door does`, () => {
    const rule = PolicyRuleSchema.parse({ bundleV01 });
    const attestations = loadAttestations(bundle, 'bundle.sigstore.json');
    const front = verifyAndEvaluate(
      { artifact, attestations, trust, trustMap: defaultTrustMap(), now, artifactBytes },
      rule,
    );
    const once = verifyEvidence({
      artifact,
      attestations,
      trust,
      artifactBytes,
      allowV01WithoutInclusionProof: true,
    });
    assert.equal(once.verified.length, 1, 'the allowance lets the v0.1 bundle verify');
    const split = evaluateVerified(once, { artifact, trustMap: defaultTrustMap(), now }, rule);

    const summary = (r: typeof front) => ({
      verified: r.verified.map((v) => v.origin),
      rejected: r.rejected.map((x) => `${x.origin} ${x.code}`),
    });
    assert.deepEqual(summary(split), summary(front));
    assert.deepEqual(split.evaluation, front.evaluation);
    if (bundleV01 === 'accept') assert.equal(split.verified.length, 1);
    else assert.deepEqual(summary(split).rejected, ['bundle.sigstore.json TLOG_MISSING']);
  });
}

test('a rejection reaches the decision as one line without control characters, however its origin was named', () => {
  // Attacker material: the corpus bundle above, presented inline by a requester for another
  // artifact (so it does not verify), under an origin the requester chose (the request schema
  // bounds its length, not its characters): an ANSI clear-screen, a carriage return, a C1 CSI
  // and a newline that would forge a verdict line in `slsa-gate status` and `audit show`.
  const origin = 'ci\u001b[2J\rbuild\u009b31m\nPUBLISHED: every check passed\u202e';
  const other = { digests: { sha256: createHash('sha256').update('another artifact').digest('hex') } };
  const { evaluation } = verifyAndEvaluate(
    {
      artifact: other,
      attestations: loadAttestations(bundle, origin),
      trust,
      trustMap: defaultTrustMap(),
      now,
      artifactBytes: new TextEncoder().encode('another artifact'),
    },
    PolicyRuleSchema.parse({ bundleV01: 'accept' }),
  );
  const controls = /[\p{Cc}\p{Cf}]/u;
  assert.equal(evaluation.rejected?.length, 1);
  const [rejection] = evaluation.rejected!;
  assert.ok(!controls.test(rejection!.origin), JSON.stringify(rejection!.origin));
  assert.ok(!controls.test(rejection!.reason), JSON.stringify(rejection!.reason));
  assert.ok(rejection!.origin.includes('PUBLISHED: every check passed'), 'the origin is still named');
  for (const check of evaluation.checks)
    assert.ok(!controls.test(check.reason), `${check.id}: ${JSON.stringify(check.reason)}`);
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectionsOf, computeEvidenceDigest, decisionContentDigest } from '../../src/archive/archive.ts';
import { buildAndAttest, demoProvenance, signEnvelope } from '../../src/demo/demo-builder.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

// The archive's digests chain every record to the next, but anyone with write access can
// recompute them all; only the signatures cannot be recomputed. `audit verify` re-checks them.
let h: PublishHarness;
before(async () => {
  h = await startPublishHarness();
});
after(async () => {
  await h?.close();
});

function auditVerify(decisionId: string, extra: string[]) {
  return spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'audit',
      'verify',
      decisionId,
      '--mongodb-uri',
      services.mongoUri,
      '--db',
      h.config.database,
      ...extra,
    ],
    { encoding: 'utf8' },
  );
}

test('a provenance swapped for a forged one, with every digest recomputed, is caught only by the signatures', async () => {
  const staging = `staging/${uniqueName('app')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const result = await h.publish(requestFor(h, staging, digest, { tag: 'v1.0.0' }));
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);

  const builderKeyFile = join(h.dir, 'builder.pub');
  const vsaKeyFile = join(h.dir, 'vsa.pub');
  writeFileSync(vsaKeyFile, h.deps.signer.publicKeyPem);
  const keys = ['--public-key', `${h.builderKey.keyId}=${builderKeyFile}`, '--vsa-public-key', vsaKeyFile];

  const intact = auditVerify(result.decisionId, keys);
  assert.equal(intact.status, 0, intact.stdout + intact.stderr);
  assert.match(intact.stdout, /signatures re-verified/);

  // The same statement signed by another key under the builder's key id, stored properly.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const forged = signEnvelope(demoProvenance({ imageName: `${h.registryHost}/${staging}`, digest }), {
    ...h.builderKey,
    privateKey,
  });
  const [forgedDigest] = (
    await h.deps.archive.storeAttestations([
      {
        raw: Buffer.from(forged).toString('base64'),
        subjects: [],
        origin: 'forged',
        fetchedAt: new Date().toISOString(),
      },
    ])
  ).digests;
  assert.ok(forgedDigest);

  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.ok(decision);
  const [original] = decision.attestationDigests;
  assert.ok(original);
  const swap = (d: string) => (d === original ? forgedDigest : d);
  const rewritten = {
    ...decision,
    attestationDigests: decision.attestationDigests.map(swap),
    checks: decision.checks.map((c) => ({ ...c, evidence: (c.evidence ?? []).map(swap) })),
  };
  rewritten.evidenceDigest = computeEvidenceDigest(rewritten.attestationDigests, decision.policy.digest);
  rewritten.contentDigest = decisionContentDigest(rewritten);
  await collectionsOf(h.deps.archive).decisions.updateOne(
    { _id: result.decisionId },
    {
      $set: {
        attestationDigests: rewritten.attestationDigests,
        checks: rewritten.checks,
        evidenceDigest: rewritten.evidenceDigest,
        contentDigest: rewritten.contentDigest,
      },
    },
  );

  const digestsOnly = auditVerify(result.decisionId, [...keys, '--skip-signatures']);
  assert.equal(digestsOnly.status, 0, 'the digest chain alone cannot tell');
  const withSignatures = auditVerify(result.decisionId, keys);
  assert.equal(withSignatures.status, 1, withSignatures.stdout);
  assert.match(
    withSignatures.stdout,
    new RegExp(
      `TAMPERED attestations ${forgedDigest}: signature does not verify: .*\\(SIGNATURE_ERROR\\)$`,
      'm',
    ),
  );
});

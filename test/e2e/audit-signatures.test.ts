import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Binary } from 'mongodb';
import { collectionsOf, computeEvidenceDigest, decisionContentDigest } from '../../src/archive/archive.ts';
import { reliedOnAttestations } from '../../src/archive/queries.ts';
import {
  buildAndAttest,
  createBuilderKey,
  demoProvenance,
  signEnvelope,
} from '../../src/demo/demo-builder.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

// `audit verify` checks that the archive holds what was decided, reading no trust material:
// a key rotation never fails it, an edit in the store does. The archive's digests chain every
// record to the next, but anyone with write access can recompute them all; only the signatures
// cannot be recomputed, and `audit reverify` re-checks them under today's trust material.
// (docs/audit.md#integrity-and-re-verification)
let h: PublishHarness;
before(async () => {
  h = await startPublishHarness();
});
after(async () => {
  await h?.close();
});

/** `slsa-gate audit <command> <args>` on the harness's archive, with `env` as today's trust configuration. */
function audit(command: 'verify' | 'reverify', args: string[], env: Record<string, string> = {}) {
  const {
    SLSA_GATE_PUBLIC_KEYS: _k,
    SLSA_GATE_VSA_PUBLIC_KEY: _v,
    SLSA_GATE_TRUSTED_ROOT: _r,
    ...rest
  } = process.env;
  return spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'audit',
      command,
      ...args,
      '--mongodb-uri',
      services.mongoUri,
      '--db',
      h.config.database,
    ],
    { encoding: 'utf8', env: { ...rest, ...env } },
  );
}

/** A real release: built, signed with the builder key, published through the gate. */
async function publishNew(
  name: string,
  tag: string,
): Promise<{ decisionId: string; digest: string; staging: string }> {
  const staging = `staging/${uniqueName(name)}`;
  const { digest } = await buildAndAttest(h.registry, staging, { tag, seed: staging, key: h.builderKey });
  const result = await h.publish(requestFor(h, staging, digest, { tag }));
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  return { decisionId: result.decisionId, digest, staging };
}

/** One real release, published once and shared by the tests that only read or restore it. */
let release: Promise<{ decisionId: string }> | undefined;
function publishRelease(): Promise<{ decisionId: string }> {
  release ??= publishNew('rotated', 'v2.0.0');
  return release;
}

test("a builder key rotated in today's trust: audit verify stays intact, audit reverify names the retired key", async () => {
  const { decisionId } = await publishRelease();
  const vsaKeyFile = join(h.dir, 'vsa.pub');
  writeFileSync(vsaKeyFile, h.deps.signer.publicKeyPem);
  // The rotation: today's configuration trusts a new builder key under a new key id; the key
  // that signed the archived provenance is retired. Nothing in the archive is edited.
  const rotated = createBuilderKey('demo-builder-2027');
  const rotatedKeyFile = join(h.dir, 'builder-2027.pub');
  writeFileSync(rotatedKeyFile, rotated.publicKeyPem);
  const todaysTrust = {
    SLSA_GATE_PUBLIC_KEYS: `${rotated.keyId}=${rotatedKeyFile}`,
    SLSA_GATE_VSA_PUBLIC_KEY: vsaKeyFile,
  };

  for (const scope of [[decisionId], ['--all']]) {
    const intact = audit('verify', scope, todaysTrust);
    assert.equal(intact.status, 0, intact.stdout + intact.stderr);
    assert.match(intact.stdout, /^PASSED: archive intact$/m);
    assert.doesNotMatch(intact.stdout, /TAMPERED/);
  }

  const reverified = audit('reverify', [decisionId], todaysTrust);
  assert.equal(reverified.status, 1, reverified.stdout + reverified.stderr);
  assert.doesNotMatch(reverified.stdout, /TAMPERED/);
  // Passing checks' evidence names attestations and other digests; the attestations are re-verified.
  const evidence = [...(await reliedOnAttestations(h.deps.archive, decisionId))];
  const relied = (
    await collectionsOf(h.deps.archive)
      .attestations.find({ _id: { $in: evidence } }, { projection: { _id: 1 } })
      .toArray()
  ).map((d) => d._id);
  assert.ok(relied.length > 0, 'passing checks relied on archived attestations');
  for (const digest of relied)
    assert.match(
      reverified.stdout,
      new RegExp(
        `^FINDING attestations ${digest}: verified at archiving as key ${h.builderKey.keyId}: signature does not verify: .*\\(SIGNATURE_ERROR\\)$`,
        'm',
      ),
    );
  // The gate's VSA key did not rotate: the issued VSA still verifies, so it is no finding.
  assert.doesNotMatch(reverified.stdout, /^FINDING vsas /m);
  assert.match(
    reverified.stdout,
    /^FINDINGS: \d+ archived signature\(s\) do not verify under today's trust/m,
  );

  // Under the trust the decision was made with, nothing differs.
  const builderKeyFile = join(h.dir, 'builder.pub');
  const unrotated = audit('reverify', [decisionId], {
    ...todaysTrust,
    SLSA_GATE_PUBLIC_KEYS: `${h.builderKey.keyId}=${builderKeyFile}`,
  });
  assert.equal(unrotated.status, 0, unrotated.stdout + unrotated.stderr);
  assert.match(unrotated.stdout, /^PASSED: every archived signature verifies under today's trust$/m);
});

test('edits made directly in the store are TAMPERED, each naming the record and its reason', async () => {
  const { decisionId } = await publishRelease();
  const collections = collectionsOf(h.deps.archive);
  const tampered = (record: string, reason: string) => {
    const r = audit('verify', [decisionId]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^TAMPERED ${record}: .*\\(${reason}\\)$`, 'm'));
    assert.match(r.stdout, /^FAILED: \d+ problem\(s\)$/m);
  };
  const intact = () => {
    const r = audit('verify', [decisionId]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  };
  intact();

  // Attacker edit 1: one byte of an archived attestation's raw bytes flipped in place with an
  // updateOne on the attestations collection, its id (the digest of the original bytes) kept.
  const decision = await h.deps.archive.getDecision(decisionId);
  assert.ok(decision);
  const [attestation] = decision.attestationDigests;
  assert.ok(attestation);
  const stored = await collections.attestations.findOne({ _id: attestation });
  assert.ok(stored);
  const original = Buffer.from(stored.raw.buffer);
  const flipped = Buffer.from(original);
  flipped[100] = flipped[100]! ^ 0x01;
  await collections.attestations.updateOne({ _id: attestation }, { $set: { raw: new Binary(flipped) } });
  tampered(`attestations ${attestation}`, 'CONTENT_ADDRESS_MISMATCH');
  await collections.attestations.updateOne({ _id: attestation }, { $set: { raw: new Binary(original) } });
  intact();

  // Attacker edit 2: the decision's outcome changed from PASSED to NEEDS_APPROVAL with an
  // updateOne on the decisions collection, the content digest left as it was.
  await collections.decisions.updateOne({ _id: decisionId }, { $set: { outcome: 'NEEDS_APPROVAL' } });
  tampered(`decisions ${decisionId}`, 'CONTENT_DIGEST_MISMATCH');
  await collections.decisions.updateOne({ _id: decisionId }, { $set: { outcome: decision.outcome } });
  intact();

  // Attacker edit 3: the event recording the move from decided to published deleted with a
  // deleteOne on the events collection; the decision still says published.
  const eventId = `${decisionId}|from:decided`;
  const event = await collections.events.findOne({ _id: eventId });
  assert.ok(event, 'the publish recorded its move from decided');
  await collections.events.deleteOne({ _id: eventId });
  tampered(`events ${eventId.replaceAll('|', '\\|')}`, 'RECORD_MISSING');
  await collections.events.insertOne(event);
  intact();
});

test('a provenance swapped for a forged one, with every digest recomputed, is caught only by the signatures', async () => {
  const result = await publishNew('app', 'v1.0.0');
  const { digest, staging } = result;

  const builderKeyFile = join(h.dir, 'builder.pub');
  const vsaKeyFile = join(h.dir, 'vsa.pub');
  writeFileSync(vsaKeyFile, h.deps.signer.publicKeyPem);
  const keys = ['--public-key', `${h.builderKey.keyId}=${builderKeyFile}`, '--vsa-public-key', vsaKeyFile];

  const intact = audit('reverify', [result.decisionId, ...keys]);
  assert.equal(intact.status, 0, intact.stdout + intact.stderr);
  assert.match(intact.stdout, /^PASSED: every archived signature verifies under today's trust$/m);

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

  const digestsOnly = audit('verify', [result.decisionId]);
  assert.equal(digestsOnly.status, 0, 'the digest chain alone cannot tell');
  const withSignatures = audit('reverify', [result.decisionId, ...keys]);
  assert.equal(withSignatures.status, 1, withSignatures.stdout);
  assert.match(
    withSignatures.stdout,
    new RegExp(
      `^FINDING attestations ${forgedDigest}: signature does not verify: .*\\(SIGNATURE_ERROR\\)$`,
      'm',
    ),
  );
});

test("another release's issued VSA moved onto a decision's publication is CHAIN_BROKEN", async () => {
  const { decisionId } = await publishRelease();
  const other = await publishNew('other', 'v3.0.0');
  const collections = collectionsOf(h.deps.archive);
  const decision = await h.deps.archive.getDecision(decisionId);
  assert.ok(decision?.published?.vsaDigest, 'the release published a VSA');
  const otherVsa = await collections.vsas.findOne({ decisionId: other.decisionId, direction: 'issued' });
  assert.ok(otherVsa, 'the other release published a VSA');

  // Attacker edit: the other release's genuine signed VSA copied (insertOne on the vsas
  // collection) under this decision's id, with an id that matches its fields, and this
  // decision's `published.vsaDigest` (lifecycle, outside the content digest) pointed at it.
  // Every digest and id still matches and the signature verifies under the gate's key.
  const movedId = `${decisionId}|issued|${otherVsa.digest}`;
  await collections.vsas.insertOne({ ...otherVsa, _id: movedId, decisionId });
  await collections.decisions.updateOne(
    { _id: decisionId },
    { $set: { 'published.vsaDigest': otherVsa.digest } },
  );
  try {
    const r = audit('verify', [decisionId]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^TAMPERED vsas ${movedId.replaceAll('|', '\\|')}: .*\\(CHAIN_BROKEN\\)$`, 'm'),
    );
  } finally {
    await collections.vsas.deleteOne({ _id: movedId });
    await collections.decisions.updateOne(
      { _id: decisionId },
      { $set: { 'published.vsaDigest': decision.published.vsaDigest } },
    );
  }
  const restored = audit('verify', [decisionId]);
  assert.equal(restored.status, 0, restored.stdout + restored.stderr);
});

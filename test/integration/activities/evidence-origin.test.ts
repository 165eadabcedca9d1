/**
 * The archive keeps each attestation with what its own verification found: an attestation sent
 * with the request (an API requester names its `origin`) never lends its verified signer,
 * builder and subjects to another attestation that happens to carry the same origin
 * (docs/security-model.md#one-verification-per-publish). Real registry, real store, the real
 * collectEvidence activity.
 *
 * Attacker material, made here: an unsigned DSSE envelope attached to the staged image as an
 * OCI referrer (anyone with staging write access can), and a request whose inline attestation,
 * a provenance the trusted builder key really signed, names that referrer layer's origin
 * (`oci://host/repo@<referrer>/<layer>`, computable from what the attacker pushed).
 *
 * Failing before: the archived record of the unsigned envelope carried the builder id,
 * predicate type and subjects of the signed provenance, so the evidence view showed it as verified.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEvidenceActivities } from '../../../src/activities/evidence.ts';
import { databaseOf } from '../../../src/archive/archive.ts';
import { loadConfig } from '../../../src/config/config.ts';
import {
  createBuilderKey,
  DEMO_BUILDER_ID,
  demoProvenance,
  demoTrustMap,
  signEnvelope,
} from '../../../src/demo/demo-builder.ts';
import { sha256Digest } from '../../../src/registry/digest.ts';
import { ensureDevSigningKey } from '../../../src/signing/signing-key.ts';
import { createActivityDeps } from '../../../src/workers/activity-deps.ts';
import {
  attachTestReferrer,
  localRegistryClient,
  pushTestImage,
  testEnvelope,
} from '../../helpers/oci-images.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

let deps: Awaited<ReturnType<typeof createActivityDeps>>;
const builderKey = createBuilderKey();
const registryHost = new URL(services.registryUrl).host;

before(async () => {
  ensureServices();
  const dir = mkdtempSync(join(tmpdir(), 'evidence-origin-'));
  const keyFile = join(dir, 'builder.pub');
  writeFileSync(keyFile, builderKey.publicKeyPem);
  const config = loadConfig({
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: uniqueName('evidence_origin').replace(/[^a-zA-Z0-9_-]/g, '_'),
    SLSA_GATE_INSECURE_REGISTRIES: registryHost,
    SLSA_GATE_PUBLIC_KEYS: `${builderKey.keyId}=${keyFile}`,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa-key.pem')),
  });
  deps = await createActivityDeps(config, { trustMap: demoTrustMap(builderKey.keyId) });
});

after(async () => {
  if (deps) {
    await databaseOf(deps.archive).dropDatabase();
    await deps.close();
  }
});

test("an inline attestation naming a referrer's origin does not lend it its verification", async () => {
  const client = localRegistryClient();
  const repo = uniqueName('staging/evidence-origin').toLowerCase();
  const { digest } = await pushTestImage(client, repo);
  const unsigned = testEnvelope(digest);
  const referrer = await attachTestReferrer(client, repo, digest);
  const referrerOrigin = `oci://${registryHost}/${repo}@${referrer}/${sha256Digest(unsigned)}`;
  const signed = signEnvelope(demoProvenance({ imageName: repo, digest }), builderKey);

  const { collectEvidence } = createEvidenceActivities(deps);
  const collected: Awaited<ReturnType<typeof collectEvidence>> = await new MockActivityEnvironment().run(
    collectEvidence,
    {
      candidate: { registry: registryHost, repository: repo, digest, mediaType: '' },
      inline: [{ origin: referrerOrigin, raw: Buffer.from(signed).toString('base64') }],
    },
  );
  assert.equal(collected.verified?.length, 1, 'the signed provenance verified');

  const records = await deps.archive.getAttestations([sha256Digest(signed), sha256Digest(unsigned)]);
  const signedRecord = records.get(sha256Digest(signed));
  const unsignedRecord = records.get(sha256Digest(unsigned));
  assert.ok(signedRecord && unsignedRecord, 'both attestations are archived');
  assert.equal(signedRecord.builderId, DEMO_BUILDER_ID);
  assert.equal(signedRecord.predicateType, 'https://slsa.dev/provenance/v1');
  // The unsigned envelope verified as nothing: it is archived with no signer, builder or subjects.
  assert.equal(unsignedRecord.builderId, undefined);
  assert.equal(unsignedRecord.predicateType, undefined);
  assert.equal(unsignedRecord.signerIdentity, undefined);
  assert.deepEqual(unsignedRecord.subjectDigests, []);
});

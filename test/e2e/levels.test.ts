import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import type { PublishProgress } from '../../src/workflows/contract.ts';
import { startAttestationServer, type AttestationServer } from '../helpers/attestation-server-process.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import { makeKey, signBundle, vsaStatement } from '../helpers/vsa-fixtures.ts';
import { collectionsOf } from '../../src/archive/archive.ts';

// Dependency levels come from a real attestation store process on loopback, through the
// real workflow: pending answers wait on a durable timer, outages are retried.
const VERIFIER = 'https://dependency-verifier.example/v1';
const verifierKey = makeKey('dep-verifier');
let store: AttestationServer;
let h: PublishHarness;

before(async () => {
  store = await startAttestationServer();
  const dir = store.dir;
  const keyFile = join(dir, 'verifier.pub');
  writeFileSync(keyFile, verifierKey.publicKeyPem);
  const attestors = join(dir, 'attestors.json');
  writeFileSync(
    attestors,
    JSON.stringify({
      trust: {
        verifiers: [{ id: VERIFIER, tracks: { BUILD: 3 } }],
        signers: [{ keyId: verifierKey.keyId, publicKeyFile: keyFile, verifierIds: [VERIFIER] }],
      },
      attestors: [{ kind: 'http-store', name: 'store', baseUrl: store.url, timeoutMs: 5000 }],
      resolve: { ttlSeconds: { notFound: 0 } },
    }),
  );
  h = await startPublishHarness({}, { SLSA_GATE_ATTESTORS: attestors, SLSA_GATE_ATTESTATION_DEADLINE: '20' });
});
after(async () => {
  await h?.close();
  await store?.stop();
});

/** A staged image whose provenance names one dependency; the store holds a VSA for it at `level` (if given). */
async function imageWithDependency(level?: number) {
  const dependency = {
    uri: `oci://deps.example/${uniqueName('lib')}`,
    digest: { sha256: randomBytes(32).toString('hex') },
  };
  if (level !== undefined) {
    const vsa = vsaStatement({
      digest: dependency.digest,
      resourceUri: dependency.uri,
      verifierId: VERIFIER,
      levels: [`SLSA_BUILD_LEVEL_${level}`],
    });
    store.put(`sha256:${dependency.digest.sha256}`, [signBundle(vsa, verifierKey)]);
  }
  const staging = `staging/${uniqueName('app')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1',
    seed: staging,
    key: h.builderKey,
    provenance: { dependencies: [dependency] },
  });
  return { staging, digest: built.digest };
}

test('a dependency VSA from the attestation store satisfies check 5, and the VSA counts it', async () => {
  await store.control({ mode: 'ok' });
  const { staging, digest } = await imageWithDependency(3);
  const result = await h.publish(requestFor(h, staging, digest, { policy: { minDependencyLevel: 2 } }));
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  const deps = result.checks.find((c) => c.id === 'dependencies');
  assert.equal(deps?.result, 'PASS');
  const issued = await collectionsOf(h.deps.archive).vsas.findOne({
    decisionId: result.decisionId,
    direction: 'issued',
  });
  assert.ok(issued, 'the issued VSA is archived');
  const bundle = JSON.parse(Buffer.from(issued.raw.buffer).toString('utf8'));
  const vsa = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  assert.deepEqual(vsa.predicate.dependencyLevels, { SLSA_BUILD_LEVEL_3: 1 });
});

test('an unknown dependency is level 0 and fails a minimum of 2', async () => {
  await store.control({ mode: 'ok' });
  const { staging, digest } = await imageWithDependency();
  const result = await h.publish(requestFor(h, staging, digest, { policy: { minDependencyLevel: 2 } }));
  assert.equal(result.status, 'DENIED');
  assert.equal(result.checks.find((c) => c.id === 'dependencies')?.code, 'DEP_LEVEL_INSUFFICIENT');
});

test('a pending attestor makes the workflow wait on a timer, then pass', async () => {
  const { staging, digest } = await imageWithDependency(3);
  await store.control({ mode: 'pending', times: 1, retryAfterSeconds: 2 });
  const handle = await h.start(requestFor(h, staging, digest, { policy: { minDependencyLevel: 2 } }));
  let sawWaiting = false;
  for (let i = 0; i < 50 && !sawWaiting; i++) {
    const p = await handle.query<PublishProgress>('progress').catch(() => undefined);
    sawWaiting = p?.status === 'WaitingForAttestations';
    if (!sawWaiting) await sleep(100);
  }
  assert.ok(sawWaiting, 'the run showed WaitingForAttestations');
  const result = await handle.result();
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
});

test('an attestor that is down, then up, gives the decision after recovery', async () => {
  const { staging, digest } = await imageWithDependency(3);
  await store.control({ mode: 'unavailable', times: 2 });
  const result = await h.publish(requestFor(h, staging, digest, { policy: { minDependencyLevel: 2 } }));
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.checks.find((c) => c.id === 'dependencies')?.result, 'PASS');
});

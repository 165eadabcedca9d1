/**
 * slsa-gate's own archive as an attestor, against the real store (FerretDB on loopback):
 * VSAs issued earlier are read back and verified with slsa-gate's VSA key.
 */
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { after, before, test } from 'node:test';
import { Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { createArchiveAttestor, selfVsaTrust } from '../../../src/attestors/archive-attestor.ts';
import { reasonOf, type Attestor } from '../../../src/attestors/attestor.ts';
import { MemoryLevelCache } from '../../../src/attestors/level-cache.ts';
import { resolveLevels } from '../../../src/attestors/resolve-levels.ts';
import { answerOf, attestorTrustDigest, evaluateVsas } from '../../../src/attestors/vsa-trust.ts';
import { isGateError } from '../../../src/core/errors.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { makeKey, signBundle, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const VERIFIER = 'https://slsa-gate.dev/verifier/v1';
const gateKey = makeKey('slsa-gate-vsa');
const otherKey = makeKey('slsa-gate-vsa');
const trust = selfVsaTrust({
  verifierId: VERIFIER,
  keyId: gateKey.keyId,
  publicKeyPem: gateKey.publicKeyPem,
});
const RESOURCE = 'oci://127.0.0.1:5000/release/lib';
const hex = (n: number) => n.toString(16).padStart(64, '0');

let archive: Archive;
before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('attestors').replaceAll('-', '_'));
  const issue = async (n: number, statement: unknown, key = gateKey) => {
    const raw = Buffer.from(JSON.stringify(signBundle(statement, key))).toString('base64');
    await archive.storeVsa({
      raw,
      direction: 'issued',
      decisionId: `decision-${n}`,
      subjectDigest: `sha256:${hex(n)}`,
      resourceUri: RESOURCE,
      verifierId: VERIFIER,
      verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
      at: new Date().toISOString(),
    });
  };
  const vsa = (n: number, result = 'PASSED') =>
    vsaStatement({
      name: RESOURCE,
      digest: { sha256: hex(n) },
      resourceUri: RESOURCE,
      verifierId: VERIFIER,
      levels: ['SLSA_BUILD_LEVEL_3'],
      result,
    });
  await issue(1, vsa(1));
  await issue(2, vsa(2, 'FAILED'));
  await issue(3, vsa(3), otherKey); // written into the store by someone without slsa-gate's key
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

const dep = (n: number) => ({
  kind: 'artifact' as const,
  uri: `${RESOURCE}@sha256:${hex(n)}`,
  digest: { sha256: hex(n) },
});

test('a VSA slsa-gate issued earlier proves the dependency level, marked archive', async () => {
  const attestor = createArchiveAttestor({ archive, trust });
  const found = await attestor.lookup(dep(1));
  assert.deepEqual(
    found.status === 'found' && [
      found.method,
      found.levels,
      found.attestations[0]!.origin.startsWith('archive:vsas/'),
    ],
    ['archive', { build: 3 }, true],
  );

  const failed = await attestor.lookup(dep(2));
  assert.equal(failed.status, 'not-found');
  assert.ok(
    failed.reasons.some((r) => r.code === 'VSA_MISMATCH'),
    failed.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
  const forged = await attestor.lookup(dep(3));
  assert.equal(forged.status, 'not-found');
  assert.ok(
    forged.reasons.some((r) => r.code === 'SIGNATURE_ERROR'),
    forged.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
  assert.equal((await attestor.lookup(dep(4))).status, 'not-found');

  const provenance: Provenance = {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    resolvedDependencies: [1, 2, 3].map((n) => ({ uri: dep(n).uri, digest: dep(n).digest })),
    subjects: [],
  };
  const r = await resolveLevels(provenance, { attestors: [attestor] });
  assert.deepEqual(
    r.levels.dependencies?.map((d) => [d.level, d.method]),
    [[3, 'archive']],
  );
  assert.deepEqual(r.dependencyLevels, { SLSA_BUILD_LEVEL_3: 1, SLSA_BUILD_LEVEL_0: 2 });
});

test('the store down is a retryable ATTESTOR_UNAVAILABLE', async () => {
  const client = new MongoClient('mongodb://127.0.0.1:9/', { serverSelectionTimeoutMS: 300 });
  const down = new Archive(client, client.db('nowhere'));
  try {
    await assert.rejects(
      createArchiveAttestor({ archive: down, trust }).lookup(dep(1)),
      (e) => isGateError(e) && e.code === 'ATTESTOR_UNAVAILABLE' && e.retryable,
    );
  } finally {
    await client.close();
  }
});

/** A PASSED VSA slsa-gate issued for dependency n, stored in the archive; its signed bytes. */
async function issuePassed(n: number): Promise<Buffer> {
  const statement = vsaStatement({
    name: RESOURCE,
    digest: { sha256: hex(n) },
    resourceUri: RESOURCE,
    verifierId: VERIFIER,
    levels: ['SLSA_BUILD_LEVEL_3'],
    result: 'PASSED',
  });
  const raw = Buffer.from(JSON.stringify(signBundle(statement, gateKey)));
  await archive.storeVsa({
    raw: raw.toString('base64'),
    direction: 'issued',
    decisionId: `decision-${n}`,
    subjectDigest: `sha256:${hex(n)}`,
    resourceUri: RESOURCE,
    verifierId: VERIFIER,
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    at: new Date().toISOString(),
  });
  return raw;
}

async function revoke(n: number): Promise<void> {
  await archive.recordRevocation({
    subjectDigest: `sha256:${hex(n)}`,
    reason: 'built on a compromised runner',
    by: 'token:admin',
    verified: true,
    at: new Date().toISOString(),
    workflowId: `revoke:sha256:${hex(n)}`,
    runId: 'run-1',
  });
}

/** A provenance whose one resolved dependency is dependency n. */
function builtFrom(n: number): Provenance {
  return {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    resolvedDependencies: [{ uri: dep(n).uri, digest: dep(n).digest }],
    subjects: [],
  };
}

test('a revoked dependency proves no level: the PASSED VSA slsa-gate issued before the revocation no longer counts', async () => {
  // Failing before: the archive attestor read the issued VSAs only, so a digest revoked after
  // its publish still lent its level to every later artifact built from it.
  await issuePassed(5);
  const attestor = createArchiveAttestor({ archive, trust });
  assert.equal((await attestor.lookup(dep(5))).status, 'found');
  await revoke(5);
  const revoked = await attestor.lookup(dep(5));
  assert.equal(revoked.status, 'not-found');
  assert.deepEqual(revoked.status === 'not-found' && revoked.reasons.map((r) => r.code), ['REVOKED']);
});

test('a revoked dependency proves no level through any other attestor either', async () => {
  // Failing before: only the archive attestor knew of the revocation; resolveLevels took the
  // highest level any attestor proved, so the PASSED VSA slsa-gate issued before the
  // revocation, served by another store, still lent the revoked digest its level.
  // Attacker material: a store the attacker runs, serving a copy of that PASSED VSA (genuine
  // bytes signed by slsa-gate's key, kept from before the revocation).
  const copy = await issuePassed(6);
  await revoke(6);
  const attackerStore: Attestor = {
    name: 'attacker-store',
    trustDigest: attestorTrustDigest(trust, 'attacker-store'),
    lookup: async (resource) =>
      answerOf(
        evaluateVsas(copy, 'https://store.example/vsa', resource, trust),
        'vsa',
        reasonOf('NO_ATTESTATION', 'attacker-store', 'none proves a level'),
      ),
  };
  assert.equal((await attackerStore.lookup(dep(6))).status, 'found');
  const r = await resolveLevels(builtFrom(6), {
    attestors: [createArchiveAttestor({ archive, trust }), attackerStore],
  });
  assert.deepEqual(
    r.resources.map((x) => [x.level, x.reasons.some((reason) => reason.code === 'REVOKED')]),
    [[0, true]],
  );
  assert.deepEqual(r.levels.dependencies, []);
  assert.deepEqual(r.dependencyLevels, { SLSA_BUILD_LEVEL_0: 1 });
});

test('a revocation counts from the next resolution on, whatever the level cache holds', async () => {
  // Failing before: the archive attestor's `found` answer stayed in the level cache for its TTL
  // (an hour by default), so a digest revoked meanwhile still lent its level to new builds.
  // Attacker material: none beyond timing; the dependency is a release of the attacker's that
  // was resolved once before its revocation.
  await issuePassed(7);
  const options = { attestors: [createArchiveAttestor({ archive, trust })], cache: new MemoryLevelCache() };
  assert.deepEqual(
    (await resolveLevels(builtFrom(7), options)).resources.map((x) => x.level),
    [3],
  );
  await revoke(7);
  const after = await resolveLevels(builtFrom(7), options);
  assert.deepEqual(
    after.resources.map((x) => [x.level, x.reasons.some((reason) => reason.code === 'REVOKED')]),
    [[0, true]],
  );
});

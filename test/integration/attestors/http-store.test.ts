/**
 * The HTTP store attestor and resolveLevels against a real attestation store process on
 * loopback (test/helpers/attestation-server.ts), with VSAs signed at start-up.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Attestor, AttestorEvidence } from '../../../src/attestors/attestor.ts';
import { createHttpStoreAttestor } from '../../../src/attestors/http-store.ts';
import { MemoryLevelCache } from '../../../src/attestors/level-cache.ts';
import { LevelResolutionSchema, resolveLevels } from '../../../src/attestors/resolve-levels.ts';
import { createVsaTrust, recheckEvidence } from '../../../src/attestors/vsa-trust.ts';
import { isGateError, isRetryable } from '../../../src/core/errors.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { startAttestationServer, type AttestationServer } from '../../helpers/attestation-server-process.ts';
import { makeKey, signBundle, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const VERIFIER = 'https://store.example/verifier';
const SOURCE_VERIFIER = 'https://source.example/verifier';
const key = makeKey('store-key');
const sourceKey = makeKey('source-key');
const forger = makeKey('store-key');
const trust = createVsaTrust({
  verifiers: [
    { id: VERIFIER, tracks: { BUILD: 3 } },
    { id: SOURCE_VERIFIER, tracks: { SOURCE: 3 } },
  ],
  signers: [
    { keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] },
    { keyId: sourceKey.keyId, publicKey: sourceKey.publicKeyPem, verifierIds: [SOURCE_VERIFIER] },
  ],
});

const hex = (n: number) => n.toString(16).padStart(64, '0');
const REPO = 'git+https://github.com/acme/app';
const COMMIT = 'c'.repeat(40);
const dep = (n: number) => ({ uri: `pkg:npm/dep-${n}@1.0.0`, digest: { sha256: hex(n) } });
const depVsa = (n: number, over: Partial<Parameters<typeof vsaStatement>[0]> = {}) =>
  vsaStatement({
    digest: { sha256: hex(n) },
    resourceUri: dep(n).uri,
    verifierId: VERIFIER,
    levels: ['SLSA_BUILD_LEVEL_3'],
    ...over,
  });

function provenance(deps: Array<{ uri?: string; digest: Record<string, string> }>): Provenance {
  return {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'https://builder.example/b@v1', name: 'https://builder.example/b' },
    buildType: 'https://builder.example/type',
    externalParameters: {},
    source: { uri: REPO, ref: 'refs/heads/main', commit: COMMIT },
    resolvedDependencies: [{ uri: `${REPO}@refs/heads/main`, digest: { gitCommit: COMMIT } }, ...deps],
    subjects: [{ digest: { sha256: 'f'.repeat(64) } }],
  };
}

let server: AttestationServer;
let store: Attestor;
before(async () => {
  server = await startAttestationServer();
  store = createHttpStoreAttestor({ name: 'store', baseUrl: server.url, trust, timeoutMs: 5000 });
  server.put(`sha256:${hex(1)}`, [signBundle(depVsa(1), key)]);
  // Level 2 and level 3 VSAs for the same dependency: the highest counts.
  server.put(`sha256:${hex(2)}`, [
    signBundle(depVsa(2, { levels: ['SLSA_BUILD_LEVEL_2'] }), key),
    signBundle(depVsa(2), key),
  ]);
  server.put(`sha256:${hex(3)}`, [signBundle(depVsa(3), forger)]);
  server.put(`sha256:${hex(4)}`, [signBundle(depVsa(4, { result: 'FAILED' }), key)]);
  server.put(`sha256:${hex(5)}`, [signBundle(depVsa(5, { levels: ['SLSA_BUILD_LEVEL_4'] }), key)]);
  server.put(`gitCommit:${COMMIT}`, [
    signBundle(
      vsaStatement({
        digest: { gitCommit: COMMIT },
        resourceUri: REPO,
        verifierId: SOURCE_VERIFIER,
        levels: ['SLSA_SOURCE_LEVEL_3'],
        sourceRefs: ['refs/heads/main'],
      }),
      sourceKey,
    ),
  ]);
});
after(() => server.stop());

test('the store answers found, not-found, and ignores forged and FAILED VSAs with reasons', async () => {
  const found = await store.lookup({ kind: 'artifact', ...dep(1) });
  assert.equal(found.status, 'found');
  assert.deepEqual(found.status === 'found' && [found.levels, found.method, found.attestations.length], [
    { build: 3 },
    'vsa',
    1,
  ]);

  assert.equal((await store.lookup({ kind: 'artifact', ...dep(99) })).status, 'not-found');

  const forged = await store.lookup({ kind: 'artifact', ...dep(3) });
  assert.equal(forged.status, 'not-found');
  assert.ok(
    forged.reasons.some((r) => r.code === 'SIGNATURE_ERROR'),
    forged.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );

  const failed = await store.lookup({ kind: 'artifact', ...dep(4) });
  assert.equal(failed.status, 'not-found');
  assert.ok(
    failed.reasons.some((r) => r.code === 'VSA_MISMATCH'),
    failed.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );

  const capped = await store.lookup({ kind: 'artifact', ...dep(5) });
  assert.deepEqual(capped.status === 'found' && capped.levels, { build: 3 });
  const low = createHttpStoreAttestor({
    name: 'store',
    baseUrl: server.url,
    trust: createVsaTrust({
      verifiers: [{ id: VERIFIER, tracks: { BUILD: 1 } }],
      signers: [{ keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] }],
    }),
  });
  const cappedLow = await low.lookup({ kind: 'artifact', ...dep(5) });
  assert.deepEqual(cappedLow.status === 'found' && cappedLow.levels, { build: 1 });
  assert.ok(cappedLow.reasons.some((r) => r.message.includes('capped')));
});

test('resolveLevels: source level, each dependency once at its highest level, unknown at 0', async () => {
  const deps = [dep(1), dep(2), dep(2), dep(3), dep(4), dep(99), { digest: {} }];
  const r = await resolveLevels(provenance(deps), { attestors: [store] });
  assert.equal(r.status, 'complete');
  assert.deepEqual(
    r.levels.sources?.map((s) => [s.repo, s.commit, s.refs, s.level, s.method]),
    [[REPO, COMMIT, ['refs/heads/main'], 3, 'vsa']],
  );
  assert.deepEqual(
    r.levels.dependencies?.map((d) => [d.uri, d.level, d.method, d.evidence.length]),
    [
      [dep(1).uri, 3, 'vsa', 1],
      [dep(2).uri, 3, 'vsa', 1],
    ],
  );
  // 5 distinct dependencies with a digest: two at L3, three unknown or unproven at L0.
  assert.deepEqual(r.dependencyLevels, { SLSA_BUILD_LEVEL_3: 2, SLSA_BUILD_LEVEL_0: 3 });
  const unknown = r.resources.find((x) => x.resource.kind === 'purl' && x.resource.purl === dep(99).uri);
  assert.deepEqual([unknown?.level, unknown?.status], [0, 'not-found']);
  // Plain JSON, as it crosses the activity boundary.
  assert.deepEqual(LevelResolutionSchema.parse(JSON.parse(JSON.stringify(r))), r);
  assert.ok(
    unknown?.reasons.some(
      (x) => x.code === 'DEP_LEVEL_INSUFFICIENT' && x.message.includes('counted as level 0'),
    ),
  );
});

test('a Source VSA for another ref proves no source level', async () => {
  const p = provenance([]);
  p.source = { uri: REPO, ref: 'refs/heads/dev', commit: COMMIT };
  const r = await resolveLevels(p, { attestors: [store] });
  assert.deepEqual(r.levels.sources, []);
  assert.ok(
    r.resources[0]!.reasons.some((x) => x.code === 'REF_MISMATCH'),
    r.resources[0]!.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
});

test('attestor down, then up: a retryable ATTESTOR_UNAVAILABLE, then the levels after recovery', async () => {
  await server.control({ mode: 'unavailable', retryAfterSeconds: 2 });
  try {
    await assert.rejects(
      store.lookup({ kind: 'artifact', ...dep(1) }),
      (e) =>
        isGateError(e) &&
        e.code === 'ATTESTOR_UNAVAILABLE' &&
        e.retryable &&
        e.detail?.retryAfterSeconds === 2,
    );
    const cache = new MemoryLevelCache();
    await assert.rejects(
      resolveLevels(provenance([dep(1)]), { attestors: [store], cache }),
      (e) => isGateError(e) && e.code === 'ATTESTOR_UNAVAILABLE' && e.retryable,
    );
    assert.equal(cache.size, 0, 'outages are not cached');
    // After the deadline the workflow asks without failing: what is missing is level 0, with the reason.
    const late = await resolveLevels(provenance([dep(1)]), { attestors: [store], failOnUnavailable: false });
    assert.equal(late.status, 'pending');
    assert.deepEqual(late.levels.dependencies, []);
    assert.ok(late.unavailable.every((u) => u.code === 'ATTESTOR_UNAVAILABLE' && isRetryable(u.code)));
  } finally {
    await server.control({ mode: 'ok' });
  }
  const r = await resolveLevels(provenance([dep(1)]), { attestors: [store] });
  assert.deepEqual([r.status, r.levels.dependencies?.[0]?.level], ['complete', 3]);
});

test('pending, then ready: pending is reported with its delay, not cached, then resolves', async () => {
  const cache = new MemoryLevelCache();
  await server.control({ mode: 'pending', retryAfterSeconds: 7 });
  const first = await resolveLevels(provenance([dep(1)]), { attestors: [store], cache });
  await server.control({ mode: 'ok' });
  assert.equal(first.status, 'pending');
  assert.deepEqual(
    first.pending.map((p) => p.retryAfterSeconds),
    [7, 7],
  );
  assert.equal(cache.size, 0);
  const second = await resolveLevels(provenance([dep(1)]), { attestors: [store], cache });
  assert.deepEqual(
    [second.status, second.levels.dependencies?.[0]?.level, second.levels.sources?.[0]?.level],
    ['complete', 3, 3],
  );
});

test('a warm cache answers without asking the store; another trust configuration asks again', async () => {
  const cache = new MemoryLevelCache();
  const p = provenance([dep(1), dep(2), dep(99)]);
  const cold = await resolveLevels(p, { attestors: [store], cache });
  const before = await server.requests();
  const warm = await resolveLevels(p, { attestors: [store], cache });
  assert.equal(await server.requests(), before);
  assert.deepEqual([warm.stats.cacheHits, warm.stats.lookups], [4, 0]);
  assert.deepEqual(warm.levels, cold.levels);
  const other = createHttpStoreAttestor({
    name: 'store',
    baseUrl: server.url,
    trust: createVsaTrust({
      verifiers: [{ id: VERIFIER, tracks: { BUILD: 2 } }],
      signers: [{ keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] }],
    }),
  });
  const again = await resolveLevels(p, { attestors: [other], cache });
  assert.equal(again.stats.lookups, 4);
  assert.equal(await server.requests(), before + 4);
  assert.deepEqual(
    again.levels.dependencies?.map((d) => d.level),
    [2, 2],
  );
});

test('more attestations than the limit is LIMIT_EXCEEDED before any is verified', async () => {
  const one = signBundle(depVsa(7), key);
  server.put(
    `sha256:${hex(7)}`,
    Array.from({ length: 1001 }, () => one),
  );
  await assert.rejects(
    store.lookup({ kind: 'artifact', ...dep(7) }),
    (e) => isGateError(e) && e.code === 'LIMIT_EXCEEDED' && !e.retryable,
  );
});

test('the attestations a level rests on come back with their bytes and prove it again', async () => {
  const cache = new MemoryLevelCache();
  const p = provenance([dep(1), dep(2)]);
  await resolveLevels(p, { attestors: [store], cache });
  // Also from the cache: the cached answer keeps the evidence bytes.
  const r = await resolveLevels(p, { attestors: [store], cache, includeAttestations: true });
  assert.equal(r.stats.cacheHits, 3);
  assert.equal(r.attestations?.length, 3); // the source VSA and one VSA per dependency (the L3 one for dep 2)
  for (const resolved of r.resources) {
    const restsOn: AttestorEvidence[] = r.attestations!.filter((a) => resolved.evidence.includes(a.digest));
    assert.equal(restsOn.length, resolved.evidence.length);
    const again = recheckEvidence(restsOn, resolved.resource, trust);
    const track = resolved.role === 'source' ? 'source' : 'build';
    assert.deepEqual(Math.max(...again.evidence.map((e) => e.proven[track] ?? 0)), resolved.level);
  }
});

test('a VSA signed with the source verifier key in the dependency verifier name proves nothing (VSA_SIGNER_UNTRUSTED)', async () => {
  // Attacker material: the holder of sourceKey, which the trust configuration ties to
  // SOURCE_VERIFIER only, signs (signBundle: ECDSA P-256 over the DSSE PAE) a dependency VSA
  // that names VERIFIER and claims SLSA_BUILD_LEVEL_3, and serves it from the store.
  server.put(`sha256:${hex(6)}`, [signBundle(depVsa(6), sourceKey)]);
  const lent = await store.lookup({ kind: 'artifact', ...dep(6) });
  assert.equal(lent.status, 'not-found');
  assert.deepEqual(
    lent.reasons.filter((r) => r.origin !== 'store').map((r) => r.code),
    ['VSA_SIGNER_UNTRUSTED'],
    lent.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
  const r = await resolveLevels(provenance([dep(6)]), { attestors: [store] });
  assert.deepEqual(r.levels.dependencies, []);
  assert.deepEqual(r.dependencyLevels, { SLSA_BUILD_LEVEL_0: 1 });
});

/**
 * resolveLevels' own behaviour (concurrency bound, timeouts, cache expiry), with small
 * in-process attestors standing in for the sources; the real attestors are tested
 * against real servers under test/integration/attestors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attestor, AttestorAnswer } from '../../../src/attestors/attestor.ts';
import { MemoryLevelCache } from '../../../src/attestors/level-cache.ts';
import {
  mergeLevelResolutions,
  ProvenanceResourcesSchema,
  resolveLevels,
  resolveResources,
  resourcesOf,
  resourcesOfFacts,
} from '../../../src/attestors/resolve-levels.ts';
import { isGateError } from '../../../src/core/errors.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';

const hex = (n: number) => n.toString(16).padStart(64, '0');
function provenance(n: number): Provenance {
  return {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    resolvedDependencies: Array.from({ length: n }, (_, i) => ({
      uri: `https://deps.example/${i}`,
      digest: { sha256: hex(i) },
    })),
    subjects: [],
  };
}
const found: AttestorAnswer = {
  status: 'found',
  method: 'vsa',
  attestations: [],
  levels: { build: 2 },
  reasons: [],
};

test('no more lookups in flight than the concurrency bound', async () => {
  let inFlight = 0;
  let most = 0;
  const slow: Attestor = {
    name: 'slow',
    trustDigest: 'sha256:0',
    async lookup() {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return found;
    },
  };
  const beats: number[] = [];
  const r = await resolveLevels(provenance(100), {
    attestors: [slow],
    concurrency: 7,
    heartbeat: (d) => beats.push(d.done),
  });
  assert.equal(most, 7);
  assert.equal(r.levels.dependencies?.length, 100);
  assert.equal(beats.length, 100);
  assert.deepEqual(r.reasons, [
    {
      code: 'SOURCE_LEVEL_INSUFFICIENT',
      origin: 'source',
      message: 'the provenance names no source repository',
    },
  ]);
});

test('a lookup that outlives its timeout is a retryable outage of that attestor', async () => {
  const hung: Attestor = {
    name: 'hung',
    trustDigest: 'sha256:0',
    lookup: () => new Promise(() => undefined),
  };
  await assert.rejects(
    resolveLevels(provenance(2), { attestors: [hung], timeoutMsByAttestor: { hung: 50 } }),
    (e) => isGateError(e) && e.code === 'ATTESTOR_UNAVAILABLE' && e.retryable,
  );
  const late = await resolveLevels(provenance(2), {
    attestors: [hung],
    timeoutMs: 50,
    failOnUnavailable: false,
  });
  assert.deepEqual(
    [late.status, late.unavailable.length, late.dependencyLevels],
    ['pending', 2, { SLSA_BUILD_LEVEL_0: 2 }],
  );
});

test('cached answers expire after their TTL; negative answers are cached for their own TTL', async () => {
  let now = 0;
  const cache = new MemoryLevelCache({ now: () => now });
  let calls = 0;
  const counting: Attestor = {
    name: 'counting',
    trustDigest: 'sha256:0',
    lookup: () => {
      calls++;
      return Promise.resolve(calls % 2 === 1 ? found : { status: 'not-found', reasons: [] });
    },
  };
  const opts = { attestors: [counting], cache, ttlMs: { found: 1000, notFound: 100 } };
  await resolveLevels(provenance(2), opts);
  assert.equal(calls, 2);
  now = 50;
  await resolveLevels(provenance(2), opts);
  assert.equal(calls, 2);
  now = 500; // the negative answer expired, the positive one did not
  await resolveLevels(provenance(2), opts);
  assert.equal(calls, 3);
  now = 5000;
  await resolveLevels(provenance(2), opts);
  assert.equal(calls, 5);
});

test('the LRU keeps at most maxEntries answers', async () => {
  const cache = new MemoryLevelCache({ maxEntries: 3 });
  for (let i = 0; i < 5; i++) await cache.set(String(i), found, 60_000);
  assert.equal(cache.size, 3);
  assert.equal(await cache.get('0'), undefined);
  assert.deepEqual(await cache.get('4'), found);
});

test('resolving the dependencies in chunks and merging gives the same levels as one resolution', async () => {
  const byParity: Attestor = {
    name: 'parity',
    trustDigest: 'sha256:0',
    lookup: (resource) => {
      const n = resource.kind === 'artifact' ? parseInt(resource.digest.sha256!, 16) : 0;
      return Promise.resolve(
        n % 3 === 0 ? { status: 'not-found', reasons: [] } : { ...found, levels: { build: n % 3 } },
      );
    },
  };
  const p = provenance(50);
  const whole = await resolveLevels(p, { attestors: [byParity] });
  const all = ProvenanceResourcesSchema.parse(JSON.parse(JSON.stringify(resourcesOf(p))));
  const parts = [];
  for (let i = 0; i < all.dependencies.length; i += 16) {
    parts.push(
      await resolveResources({ dependencies: all.dependencies.slice(i, i + 16) }, { attestors: [byParity] }),
    );
  }
  const merged = mergeLevelResolutions(parts);
  assert.deepEqual(merged.levels, whole.levels);
  assert.deepEqual(merged.dependencyLevels, whole.dependencyLevels);
  assert.deepEqual(whole.dependencyLevels, {
    SLSA_BUILD_LEVEL_0: 17,
    SLSA_BUILD_LEVEL_1: 17,
    SLSA_BUILD_LEVEL_2: 16,
  });
});

test('attestor names must be unique; a short source commit is not asked about', async () => {
  const a: Attestor = { name: 'a', trustDigest: 'sha256:0', lookup: () => Promise.resolve(found) };
  await assert.rejects(
    resolveLevels(provenance(1), { attestors: [a, a] }),
    (e) => isGateError(e) && e.code === 'CONFIG_INVALID',
  );
  const p = {
    ...provenance(0),
    source: { uri: 'git+https://github.com/acme/app', ref: 'refs/heads/main', commit: 'abc123' },
  };
  const r = await resolveLevels(p, { attestors: [a] });
  assert.deepEqual([r.levels.sources, r.stats.lookups], [[], 0]);
  assert.equal(r.reasons[0]!.code, 'SOURCE_LEVEL_INSUFFICIENT');
  assert.match(r.reasons[0]!.message, /not a full commit id/);
});

test('resources from extracted facts equal those from the provenance', () => {
  const p: Provenance = {
    ...provenance(3),
    source: { uri: 'git+https://github.com/acme/app', ref: 'refs/heads/main', commit: 'A'.repeat(40) },
  };
  p.resolvedDependencies.push({
    uri: 'git+https://github.com/acme/app@refs/heads/main',
    digest: { gitCommit: 'a'.repeat(40) },
  });
  const facts = {
    sourceRepo: p.source!.uri,
    sourceCommit: p.source!.commit!,
    sourceRef: p.source!.ref!,
    dependencies: p.resolvedDependencies,
  };
  assert.deepEqual(resourcesOfFacts(facts), resourcesOf(p));
  assert.deepEqual(resourcesOf(p).source, {
    kind: 'git',
    repo: 'git+https://github.com/acme/app',
    commit: 'a'.repeat(40),
    ref: 'refs/heads/main',
  });
  assert.equal(resourcesOf(p).dependencies.length, 3);
});

/**
 * `npm run bench:deps`: resolve the levels of a provenance with 500 dependencies through
 * the HTTP store attestor against a loopback store process (test/helpers/attestation-server.ts):
 * cold (empty cache, 16 lookups in flight), warm (from the cache), and the same lookups one
 * after another; first on plain loopback, then with the store delaying each answer by
 * BENCH_LATENCY_MS (default 5 ms) as a store across a network would. The 500 dependency VSAs are signed with a fresh key at start-up.
 * The last line carries every figure.
 */
import { performance } from 'node:perf_hooks';
import { createHttpStoreAttestor } from '../src/attestors/http-store.ts';
import { MemoryLevelCache } from '../src/attestors/level-cache.ts';
import { resolveLevels, type LevelResolution } from '../src/attestors/resolve-levels.ts';
import { createVsaTrust } from '../src/attestors/vsa-trust.ts';
import type { Provenance } from '../src/core/provenance/provenance.ts';
import { startAttestationServer } from '../test/helpers/attestation-server-process.ts';
import { makeKey, signBundle, vsaStatement } from '../test/helpers/vsa-fixtures.ts';

const COUNT = Number(process.env.BENCH_DEPS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Delay per store answer in the second round, as from a store across a network. */
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 5);
const VERIFIER = 'https://store.example/verifier';

const key = makeKey('bench-store');
const trust = createVsaTrust({
  verifiers: [{ id: VERIFIER, tracks: { BUILD: 3 } }],
  signers: [{ keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] }],
});
const hex = (n: number) => n.toString(16).padStart(64, '0');
const uri = (n: number) => `pkg:npm/bench-dep-${n}@1.0.0`;

const server = await startAttestationServer();
try {
  const WARMUP = 100;
  for (let i = 0; i < COUNT + WARMUP; i++) {
    const statement = vsaStatement({
      digest: { sha256: hex(i) },
      resourceUri: uri(i),
      verifierId: VERIFIER,
      levels: ['SLSA_BUILD_LEVEL_3'],
    });
    server.put(`sha256:${hex(i)}`, [signBundle(statement, key)]);
  }
  const provenance: Provenance = {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'https://builder.example/bench', name: 'https://builder.example/bench' },
    buildType: 'https://builder.example/bench',
    externalParameters: {},
    resolvedDependencies: Array.from({ length: COUNT }, (_, i) => ({
      uri: uri(i),
      digest: { sha256: hex(i) },
    })),
    subjects: [],
  };
  const attestor = createHttpStoreAttestor({ name: 'store', baseUrl: server.url, trust });

  const run = async (label: string, cache: MemoryLevelCache, concurrency: number) => {
    const start = performance.now();
    const r: LevelResolution = await resolveLevels(provenance, { attestors: [attestor], cache, concurrency });
    const ms = performance.now() - start;
    const resolved = r.levels.dependencies?.filter((d) => d.level === 3).length ?? 0;
    if (r.status !== 'complete' || resolved !== COUNT) {
      throw new Error(`${label}: ${resolved}/${COUNT} dependencies at L3, status ${r.status}`);
    }
    const perSecond = COUNT / (ms / 1000);
    console.log(
      `${label.padEnd(24)} ${COUNT} deps  ${ms.toFixed(1).padStart(8)} ms  ${perSecond.toFixed(0).padStart(7)} deps/s  lookups ${r.stats.lookups}  cache hits ${r.stats.cacheHits}`,
    );
    return { ms, perSecond };
  };
  const fmt = (x: { ms: number; perSecond: number }) =>
    `${x.ms.toFixed(1)}ms/${x.perSecond.toFixed(0)}deps/s`;

  // Warm the JIT and the connection pool on other dependencies first, so that no measured run pays for it.
  await resolveLevels(
    {
      ...provenance,
      resolvedDependencies: Array.from({ length: WARMUP }, (_, i) => ({
        uri: uri(COUNT + i),
        digest: { sha256: hex(COUNT + i) },
      })),
    },
    { attestors: [attestor], concurrency: CONCURRENCY },
  );

  // On loopback, then with a delay per answer as from a store across a network.
  const summaries: string[] = [];
  for (const latencyMs of [0, LATENCY_MS]) {
    await server.control({ mode: 'ok', latencyMs });
    const at = `latency ${latencyMs}ms`;
    const cache = new MemoryLevelCache();
    const cold = await run(`cold (${at})`, cache, CONCURRENCY);
    const warm = await run(`warm (${at})`, cache, CONCURRENCY);
    const sequential = await run(`sequential (${at})`, new MemoryLevelCache(), 1);
    summaries.push(
      `[${at}] cold=${fmt(cold)} warm=${fmt(warm)} sequential=${fmt(sequential)} ` +
        `cold-vs-sequential=${(sequential.ms / cold.ms).toFixed(2)}x warm-vs-cold=${(cold.ms / warm.ms).toFixed(1)}x ` +
        `warm-vs-sequential=${(sequential.ms / warm.ms).toFixed(1)}x`,
    );
  }
  console.log(`bench:deps deps=${COUNT} concurrency=${CONCURRENCY} ${summaries.join(' ')}`);
} finally {
  await server.stop();
}

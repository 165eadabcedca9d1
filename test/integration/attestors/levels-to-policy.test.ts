/**
 * Resolved levels as policy sees them: the LevelEvidence from resolveLevels, resolved through
 * the HTTP store process on loopback, decides checks 3 and 5 (checkSource, checkDependencies).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHttpStoreAttestor } from '../../../src/attestors/http-store.ts';
import { MemoryLevelCache } from '../../../src/attestors/level-cache.ts';
import { resolveLevels } from '../../../src/attestors/resolve-levels.ts';
import { createVsaTrust } from '../../../src/attestors/vsa-trust.ts';
import { checkDependencies } from '../../../src/core/policy/checks/dependencies.ts';
import { checkSource } from '../../../src/core/policy/checks/source.ts';
import { PolicyRuleSchema, type PolicyRuleInput } from '../../../src/core/policy/policy-rule.ts';
import type { VerifiedAttestation } from '../../../src/core/model.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { startAttestationServer, type AttestationServer } from '../../helpers/attestation-server-process.ts';
import { makeKey, signBundle, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const DEP_VERIFIER = 'https://store.example/verifier';
const SOURCE_VERIFIER = 'https://github.com/slsa-framework/source-tool';
const depKey = makeKey('deps');
const sourceKey = makeKey('source');
const trust = createVsaTrust({
  verifiers: [
    { id: DEP_VERIFIER, tracks: { BUILD: 3 } },
    { id: SOURCE_VERIFIER, tracks: { SOURCE: 4 } },
  ],
  signers: [
    { keyId: depKey.keyId, publicKey: depKey.publicKeyPem, verifierIds: [DEP_VERIFIER] },
    { keyId: sourceKey.keyId, publicKey: sourceKey.publicKeyPem, verifierIds: [SOURCE_VERIFIER] },
  ],
});
const REPO = 'git+https://github.com/acme/app';
const COMMIT = 'a'.repeat(40);
const OTHER_COMMIT = 'b'.repeat(40);
const hex = (n: number) => n.toString(16).padStart(64, '0');
const depUri = (n: number) => `pkg:npm/dep-${n}@1.0.0`;
const NOW = new Date('2026-11-25T00:00:00Z');

// Only the digest and origin of the provenance attestation appear in these checks' results.
const att = { digest: `sha256:${'e'.repeat(64)}`, origin: 'provenance.json' } as VerifiedAttestation;

function provenance(commit: string, ref: string, deps: number[]): Provenance {
  return {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'https://builder.example/b@v1', name: 'https://builder.example/b' },
    buildType: 'https://builder.example/t',
    externalParameters: {},
    source: { uri: REPO, ref, commit },
    resolvedDependencies: [
      { uri: `${REPO}@${ref}`, digest: { gitCommit: commit } },
      ...deps.map((n) => ({ uri: depUri(n), digest: { sha256: hex(n) } })),
    ],
    subjects: [{ digest: { sha256: 'f'.repeat(64) } }],
  };
}
const rule = (r: PolicyRuleInput) => PolicyRuleSchema.parse(r);

let server: AttestationServer;
before(async () => {
  server = await startAttestationServer();
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
  for (const n of [1, 2]) {
    server.put(`sha256:${hex(n)}`, [
      signBundle(
        vsaStatement({
          digest: { sha256: hex(n) },
          resourceUri: depUri(n),
          verifierId: DEP_VERIFIER,
          levels: ['SLSA_BUILD_LEVEL_3'],
        }),
        depKey,
      ),
    ]);
  }
});
after(() => server.stop());

test('check 3: the Source VSA passes Source L3; the wrong commit or a ref outside source_refs fails', async () => {
  const store = createHttpStoreAttestor({ name: 'store', baseUrl: server.url, trust });
  const want = rule({ source: { repos: ['github.com/acme/app'], minLevel: 3 } });
  const cases: Array<[string, string, string, string | undefined]> = [
    [COMMIT, 'refs/heads/main', 'PASS', undefined],
    [OTHER_COMMIT, 'refs/heads/main', 'FAIL', 'SOURCE_LEVEL_INSUFFICIENT'],
    [COMMIT, 'refs/heads/feature', 'FAIL', 'SOURCE_LEVEL_INSUFFICIENT'],
  ];
  for (const [commit, ref, result, code] of cases) {
    const p = provenance(commit, ref, []);
    const { levels } = await resolveLevels(p, { attestors: [store] });
    const check = checkSource(want, att, p, [], levels);
    assert.deepEqual([check.result, check.code], [result, code], `${commit} ${ref}: ${check.reason}`);
    if (result === 'PASS') assert.equal(check.level, 3);
  }
});

test('check 5: unknown dependencies are level 0; an exception applies until it expires', async () => {
  const store = createHttpStoreAttestor({ name: 'store', baseUrl: server.url, trust });
  const p = provenance(COMMIT, 'refs/heads/main', [1, 2, 3]);
  const { levels, dependencyLevels } = await resolveLevels(p, { attestors: [store] });
  assert.deepEqual(dependencyLevels, { SLSA_BUILD_LEVEL_3: 2, SLSA_BUILD_LEVEL_0: 1 });

  const none = checkDependencies(rule({ dependencies: { minLevel: 3 } }), att, p, levels, NOW);
  assert.deepEqual([none.result, none.code], ['FAIL', 'DEP_LEVEL_INSUFFICIENT']);
  const exception = (expires: string) => ({
    pattern: depUri(3),
    reason: 'vendored',
    expires,
    requireApproval: true,
  });
  const live = checkDependencies(
    rule({ dependencies: { minLevel: 3, exceptions: [exception('2027-01-01T00:00:00Z')] } }),
    att,
    p,
    levels,
    NOW,
  );
  assert.deepEqual([live.result, live.needsApproval], ['PASS', true]);
  const expired = checkDependencies(
    rule({ dependencies: { minLevel: 3, exceptions: [exception('2026-01-01T00:00:00Z')] } }),
    att,
    p,
    levels,
    NOW,
  );
  assert.deepEqual([expired.result, expired.code], ['FAIL', 'DEP_LEVEL_INSUFFICIENT']);
});

test('attestor down then up: no decision on partial levels while down, the check passes after recovery', async () => {
  const store = createHttpStoreAttestor({ name: 'store', baseUrl: server.url, trust });
  const cache = new MemoryLevelCache();
  const p = provenance(COMMIT, 'refs/heads/main', [1, 2]);
  await server.control({ mode: 'unavailable', times: 2 });
  await assert.rejects(resolveLevels(p, { attestors: [store], cache, concurrency: 1 }));
  const { levels, status } = await resolveLevels(p, { attestors: [store], cache });
  assert.equal(status, 'complete');
  const check = checkDependencies(rule({ dependencies: { minLevel: 3 } }), att, p, levels, NOW);
  assert.deepEqual([check.result, check.level], ['PASS', 3]);
});

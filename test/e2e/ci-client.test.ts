/**
 * The CI client (ci/slsa-gate-request.mjs) run exactly as the GitHub Action and the GitLab
 * template run it (test/helpers/ci-jobs.ts), against `slsa-gate api serve` as a process, a real
 * Worker on the Temporal dev server, the registry, FerretDB, and loopback OIDC issuers whose
 * tokens have the shape GitHub's and GitLab's have. A loopback server stands in for GitHub's
 * token service (ACTIONS_ID_TOKEN_REQUEST_URL) and mints with the audience the step asks for.
 * Attacker material is made as each comment says.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAndAttest, type demoPolicy } from '../../src/demo/demo-builder.ts';
import { publishWorkflowId } from '../../src/workflows/contract.ts';
import {
  CLIENT_PATH,
  deadAddress,
  githubJob,
  runGitlabJob,
  serveBytes,
  startTokenService,
  type TokenService,
} from '../helpers/ci-jobs.ts';
import { startIssuer, type LoopbackIssuer } from '../helpers/oidc-issuer.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { assertNothingPublished, listTags } from '../helpers/publish-checks.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

const AUDIENCE = 'slsa-gate';
const TEMPORAL_UI = 'http://127.0.0.1:8233';
const cli = join(import.meta.dirname, '../../bin/slsa-gate.js');
let h: PublishHarness;
let github: LoopbackIssuer;
let gitlab: LoopbackIssuer;
let tokenService: TokenService;
let api: ChildProcess;
let gate: string;

/** GitHub's claims for a tag push of acme/app (docs/ci.md#github-actions); `aud` as the step asked. */
function githubClaims(audience: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: github.issuer,
    aud: audience,
    sub: 'repo:acme/app:ref:refs/tags/v1.0.0',
    repository: 'acme/app',
    repository_id: '1001',
    repository_owner: 'acme',
    repository_owner_id: '501',
    ref: 'refs/tags/v1.0.0',
    ref_type: 'tag',
    workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1.0.0',
    job_workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1.0.0',
    event_name: 'push',
    iat: now,
    nbf: now,
    exp: now + 300,
    ...overrides,
  };
}

/** Claims the token service puts into the next token it mints (the test's attacker material, an expiry). */
let mintClaims: () => Record<string, unknown> = () => ({});

before(async () => {
  h = await startPublishHarness();
  github = await startIssuer('gh-1');
  gitlab = await startIssuer('gl-1');
  tokenService = await startTokenService((audience) => github.sign(githubClaims(audience, mintClaims())));
  // The operator's credentials: GitHub tag builds of acme/app's release workflow, and GitLab
  // pipelines of acme/app on a protected ref, may ask for publishes (docs/ci.md).
  const credentials = {
    oidc: [
      // No clock skew, so that a token minted to expire soon is refused as soon as it expires.
      { issuer: github.issuer, audience: AUDIENCE, claims: 'github-actions', clockSkewSeconds: 0 },
      { issuer: gitlab.issuer, audience: AUDIENCE, claims: 'generic' },
    ],
    grants: [
      {
        issuer: github.issuer,
        claims: {
          repository: 'acme/app',
          job_workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1.0.0',
        },
        scopes: ['publish'],
        // The demo builder's images are builds of example/app.
        sources: ['github.com/example/app'],
      },
      {
        issuer: gitlab.issuer,
        claims: { project_path: 'acme/app', ref_protected: 'true' },
        scopes: ['publish'],
        sources: ['github.com/example/app'],
      },
    ],
  };
  api = spawn(process.execPath, [cli, 'api', 'serve', '--port', '0'], {
    env: {
      ...process.env,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_DB: h.config.database,
      SLSA_GATE_API_TOKENS: JSON.stringify(credentials),
      SLSA_GATE_IDENTITY_KEY: h.identityKey.toString('hex'),
      TEMPORAL_ADDRESS: h.config.temporalAddress,
      TEMPORAL_NAMESPACE: h.config.temporalNamespace,
      SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
      TEMPORAL_UI_URL: TEMPORAL_UI,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  gate = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    api.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    api.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    api.once('exit', (code) => reject(new Error(`api serve exited with ${code}: ${err}`)));
  });
});

after(async () => {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await once(api, 'exit');
  }
  await tokenService?.close();
  await github?.close();
  await gitlab?.close();
  await h?.close();
});

/** An image the demo builder made in a staging repository, with the operator's policy for it in force. */
async function stagedImage(
  tamper?: (statement: Record<string, unknown>) => void,
  policy: Parameters<typeof demoPolicy>[1] = {},
) {
  const staging = `staging/${uniqueName('ci')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
    ...(tamper ? { tamper } : {}),
  });
  // Every one of the five checks has an expectation to meet (a dependency level too).
  requestFor(h, staging, built.digest, { policy: { minDependencyLevel: 1, ...policy } });
  await h.loadPolicy(h.policies.get(built.digest)!);
  const release = staging.replace(/^staging\//, 'release/');
  return { staging, digest: built.digest, release, to: `${h.registryHost}/${release}` };
}

const githubRunner = () => ({
  ACTIONS_ID_TOKEN_REQUEST_URL: tokenService.url,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: tokenService.requestToken,
});

function assertNoToken(texts: string[], tokens: string[]) {
  for (const token of tokens) {
    const signature = token.split('.')[2]!;
    for (const text of texts) assert.ok(!text.includes(signature), 'no ID token in the log or the summary');
  }
}

test('GitHub Action: a good candidate is published, each step is logged, the summary has the five checks', async () => {
  const { staging, digest, release, to } = await stagedImage();
  const job = githubJob();
  const ran = await job.runAction(
    { 'gate-url': gate, image: `${h.registryHost}/${staging}:v1.0.0`, digest, to },
    githubRunner(),
  );
  const log = ran.stdout + ran.stderr;
  assert.equal(ran.code, 0, log);
  assert.match(ran.stdout, /^slsa-gate: … [A-Za-z]+$/m, 'the steps are streamed');
  for (const check of ['builder', 'build-level', 'source', 'entrypoint', 'dependencies'])
    assert.match(ran.stdout, new RegExp(`^slsa-gate:   PASS +${check} `, 'm'));
  const verdict = new RegExp(
    `^slsa-gate: PUBLISHED: ${h.registryHost}/${release}:v1\\.0\\.0@${digest} \\(VSA sha256:`,
    'm',
  );
  assert.match(ran.stdout, verdict);
  assert.match(ran.stdout, new RegExp(`^slsa-gate: audit: ${gate}/decisions/\\S+$`, 'm'));
  assert.match(ran.stdout, new RegExp(`^slsa-gate: Temporal UI: ${TEMPORAL_UI}/namespaces/\\S+$`, 'm'));

  const summary = readFileSync(job.summaryFile, 'utf8');
  assert.match(summary, /^## slsa-gate: PUBLISHED$/m);
  ['builder', 'build-level', 'source', 'entrypoint', 'dependencies'].forEach((check, i) =>
    assert.match(summary, new RegExp(`^\\| ${i + 1} \\| ${check} \\| PASS \\|`, 'm')),
  );
  assert.match(summary, /\[audit record\]\(<http:\/\/127\.0\.0\.1:\d+\/decisions\//);
  assertNoToken([ran.stdout, ran.stderr, summary], tokenService.issued);

  assert.ok((await listTags(h.registryHost, release)).includes('v1.0.0'), 'published under its tag');
  const [decision] = await h.deps.archive.findDecisionsByDigest(digest);
  assert.equal(decision?.requester, `${github.issuer}#repo:acme/app:ref:refs/tags/v1.0.0`);
});

test('GitHub Action: a tampered candidate is denied, exit 1 with a denial line, nothing published', async () => {
  // Attacker material: the demo builder's signed provenance with builder.id edited after signing
  // (buildAndAttest's tamper), as someone with push access to staging could attach.
  const { staging, digest, release, to } = await stagedImage((s) => {
    (s.predicate as { runDetails: { builder: { id: string } } }).runDetails.builder.id =
      'https://slsa-gate.dev/demo-builder@v2';
  });
  const job = githubJob();
  const ran = await job.runAction(
    { 'gate-url': gate, image: `${h.registryHost}/${staging}@${digest}`, to, tag: 'v1.0.0' },
    githubRunner(),
  );
  assert.equal(ran.code, 1, ran.stdout + ran.stderr);
  assert.match(ran.stdout, /^slsa-gate: DENIED: SIGNATURE_ERROR: /m);
  assert.match(ran.stdout, new RegExp(`^slsa-gate: audit: ${gate}/decisions/\\S+$`, 'm'));
  const summary = readFileSync(job.summaryFile, 'utf8');
  assert.match(summary, /^## slsa-gate: DENIED$/m);
  assert.match(summary, /^\| 1 \| builder \| /m);
  await assertNothingPublished(h.registry, release, digest);
});

test('GitHub Action: a token for another audience or a repository without a grant is refused, exit 2, nothing started', async () => {
  const { staging, digest, release, to } = await stagedImage();
  const image = `${h.registryHost}/${staging}@${digest}`;
  const job = githubJob();
  // The step asks for a token for another relying party: the gate does not accept it.
  const wrongAudience = await job.runAction(
    { 'gate-url': gate, image, to, tag: 'v1.0.0', audience: 'someone-else' },
    githubRunner(),
  );
  assert.equal(wrongAudience.code, 2, wrongAudience.stdout + wrongAudience.stderr);
  assert.match(wrongAudience.stderr, /^slsa-gate: UNAUTHENTICATED: .*audience someone-else/m);
  // Attacker material: a real, correctly signed token of a workflow in a fork no grant names.
  mintClaims = () => ({
    repository: 'mallory/app',
    sub: 'repo:mallory/app:ref:refs/tags/v1.0.0',
    job_workflow_ref: 'mallory/app/.github/workflows/release.yml@refs/tags/v1.0.0',
  });
  try {
    const stranger = await job.runAction({ 'gate-url': gate, image, to, tag: 'v1.0.0' }, githubRunner());
    assert.equal(stranger.code, 2, stranger.stdout + stranger.stderr);
    assert.match(stranger.stderr, /^slsa-gate: FORBIDDEN: /m);
  } finally {
    mintClaims = () => ({});
  }
  await assertNothingPublished(h.registry, release, digest);
  assert.equal((await h.deps.archive.findDecisionsByDigest(digest)).length, 0, 'no publish was started');
});

test('GitLab template: the job’s id_tokens token publishes with the pinned client', async () => {
  const { staging, digest, release, to } = await stagedImage();
  const client = await serveBytes(readFileSync(CLIENT_PATH));
  let minted = '';
  try {
    const ran = await runGitlabJob(
      {
        SLSA_GATE_URL: gate,
        SLSA_GATE_CLIENT_URL: client.url,
        SLSA_GATE_IMAGE: `${h.registryHost}/${staging}@${digest}`,
        SLSA_GATE_TO: to,
        SLSA_GATE_TAG: 'v1.0.0',
      },
      (aud) => {
        // GitLab's claims for a pipeline of acme/app on the protected tag v1.0.0.
        const now = Math.floor(Date.now() / 1000);
        minted = gitlab.sign({
          iss: gitlab.issuer,
          aud,
          sub: 'project_path:acme/app:ref_type:tag:ref:v1.0.0',
          project_path: 'acme/app',
          namespace_path: 'acme',
          ref: 'v1.0.0',
          ref_type: 'tag',
          ref_protected: 'true',
          pipeline_source: 'push',
          iat: now,
          nbf: now,
          exp: now + 300,
        });
        return minted;
      },
    );
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    assert.match(ran.stdout, /^slsa-gate: PUBLISHED: /m);
    assert.match(ran.stdout, /token from SLSA_GATE_ID_TOKEN/);
    const summary = readFileSync(join(ran.projectDir, 'slsa-gate-summary.md'), 'utf8');
    assert.match(summary, /^\| 5 \| dependencies \| PASS \|/m);
    assertNoToken([ran.stdout, ran.stderr, summary], [minted]);
  } finally {
    await client.close();
  }
  assert.ok((await listTags(h.registryHost, release)).includes('v1.0.0'));
  const [decision] = await h.deps.archive.findDecisionsByDigest(digest);
  assert.equal(decision?.requester, `${gitlab.issuer}#project_path:acme/app:ref_type:tag:ref:v1.0.0`);
});

test('GitHub Action: the gate down is exit 4 with a coded line naming the address', async () => {
  const down = await deadAddress();
  const job = githubJob();
  const ran = await job.runAction(
    {
      'gate-url': down,
      image: `${h.registryHost}/staging/none@sha256:${'0'.repeat(64)}`,
      to: `${h.registryHost}/release/none`,
    },
    githubRunner(),
  );
  assert.equal(ran.code, 4, ran.stdout + ran.stderr);
  assert.match(
    ran.stderr,
    new RegExp(`^slsa-gate: GATE_UNREACHABLE: ${down} did not answer \\(ECONNREFUSED\\)`, 'm'),
  );
  assert.ok(!ran.stderr.includes('    at '), 'no stack trace');
  assert.match(readFileSync(job.summaryFile, 'utf8'), /^## slsa-gate: GATE\\_UNREACHABLE$/m);
});

test('GitHub Action: a token that expires while the publish awaits approval is replaced, and the step sees the verdict', async () => {
  const { staging, digest, release, to } = await stagedImage(undefined, { approvalRequired: true });
  const workflowId = publishWorkflowId(h.registryHost, release, digest);
  // The first token lives 10 s from its minting (GitHub's live minutes); every later one the
  // usual 5 minutes. Counted from the minting, not from here: a loaded machine can take
  // seconds to start the step, and a token that expired before its first call is a refusal.
  let firstExpiry = 0;
  const issuedBefore = tokenService.issued.length;
  mintClaims = () => {
    if (tokenService.issued.length !== issuedBefore) return {};
    firstExpiry = Math.floor(Date.now() / 1000) + 10;
    return { exp: firstExpiry };
  };
  const job = githubJob();
  try {
    const running = job.runAction(
      { 'gate-url': gate, image: `${h.registryHost}/${staging}@${digest}`, to, tag: 'v1.0.0' },
      githubRunner(),
    );
    const handle = h.client.workflow.getHandle(workflowId);
    const waiting = await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' });
    assert.equal(waiting?.status, 'AwaitingApproval');
    assert.ok(firstExpiry > 0, 'the first token was minted');
    // The approval comes only once the step has met the expired token and asked for a new
    // one: its long poll (at most 60 s) may span the expiry, and a publish that ends within
    // that poll would never need the second token.
    const replacedBy = Date.now() + 120_000;
    while (tokenService.issued.length - issuedBefore < 2 && Date.now() < replacedBy) await sleep(250);
    assert.ok(Date.now() / 1000 > firstExpiry, 'the first token expired before the approval');
    const bound = await h.verdictBinding(handle);
    await handle.executeUpdate('approve', {
      args: [
        {
          approver: 'bob',
          reason: 'reviewed',
          identity: h.sealToken('bob', 'approve', workflowId, bound.runId, bound.requestDigest),
        },
      ],
    });
    const ran = await running;
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    assert.match(ran.stdout, /^slsa-gate: … AwaitingApproval/m);
    assert.match(ran.stdout, /^slsa-gate: PUBLISHED: /m);
    assert.ok(tokenService.issued.length - issuedBefore >= 2, 'a second token was asked for');
  } finally {
    mintClaims = () => ({});
  }
  assert.ok((await listTags(h.registryHost, release)).includes('v1.0.0'));
});

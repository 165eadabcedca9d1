/**
 * The API's write routes on the real services: a Temporal dev server with a real Worker, the
 * registry and FerretDB, and a real OIDC issuer on loopback (test/helpers/oidc-issuer.ts)
 * whose RS256 ID tokens stand for GitHub Actions. Attacker material is made as each comment says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { hashToken } from '../../src/api/api-tokens.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { publishWorkflowId } from '../../src/workflows/contract.ts';
import { revokeWorkflowId } from '../../src/workflows/revocation-contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { startIssuer, type LoopbackIssuer } from '../helpers/oidc-issuer.ts';
import { assertNothingPublished, listTags } from '../helpers/publish-checks.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const AUDIENCE = 'slsa-gate';
const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../bin/slsa-gate.js');
let h: PublishHarness;
let issuer: LoopbackIssuer;
let api: ApiRig;
const tokens = {
  mallory: randomBytes(32).toString('hex'),
  bob: randomBytes(32).toString('hex'),
  auditor: randomBytes(32).toString('hex'),
  admin: randomBytes(32).toString('hex'),
};

before(async () => {
  h = await startPublishHarness();
  issuer = await startIssuer('gh-1');
  api = await startApi(
    h,
    {
      tokens: [
        // One token, allowed to ask and to approve: the two-person rule must still hold.
        {
          name: 'mallory',
          sha256: hashToken(tokens.mallory),
          scopes: ['publish', 'approve'],
          sources: ['github.com/example/app'],
        },
        { name: 'bob', sha256: hashToken(tokens.bob), scopes: ['approve'] },
        { name: 'auditor', sha256: hashToken(tokens.auditor), scopes: ['audit:read'] },
        { name: 'admin', sha256: hashToken(tokens.admin), scopes: ['admin'] },
      ],
      oidc: [{ issuer: issuer.issuer, audience: AUDIENCE, claims: 'github-actions' }],
      // acme/app's release workflow publishes builds of example/app (the demo builder's source).
      grants: [
        {
          issuer: issuer.issuer,
          claims: { repository: 'acme/app' },
          scopes: ['publish'],
          sources: ['github.com/example/app'],
        },
      ],
    },
    { temporalTimeoutMs: 3000 },
  );
});

after(async () => {
  await api?.close();
  await issuer?.close();
  await h?.close();
});

async function stagedImage() {
  const staging = `staging/${uniqueName('app')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  return { staging, digest: built.digest };
}

const call: ApiRig['call'] = (path, init) => api.call(path, init);

function ghToken(claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return issuer.sign({
    iss: issuer.issuer,
    aud: AUDIENCE,
    sub: 'repo:acme/app:ref:refs/tags/v1.0.0',
    repository: 'acme/app',
    repository_id: '1001',
    repository_owner_id: '501',
    ref: 'refs/tags/v1.0.0',
    iat: now,
    exp: now + 300,
    ...claims,
  });
}

/** Mallory's request to publish the staged image's v1.0.0 to its release repository: the workflow id. */
async function requestPublish(staging: string, digest: string): Promise<string> {
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  const started = await call('/api/v1/publishes', {
    method: 'POST',
    token: tokens.mallory,
    body: { image: `${h.registryHost}/${staging}:v1.0.0@${digest}`, to },
  });
  assert.equal(started.status, 202, await started.clone().text());
  return ((await started.json()) as { workflowId: string }).workflowId;
}

async function notStarted(workflowId: string) {
  await assert.rejects(h.client.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);
}

async function waitFor(workflowId: string, status: string, token = tokens.auditor) {
  for (let i = 0; i < 150; i++) {
    const res = await call(`/api/v1/publishes/${encodeURIComponent(workflowId)}`, { token });
    if (res.status === 200) {
      const body = (await res.json()) as { status: string };
      if (body.status === status) return body;
    } else await res.body?.cancel();
    await sleep(200);
  }
  throw new Error(`never reached ${status}`);
}

test('wrong or missing credentials get one uniform 401; a credential without the scope gets 403', async () => {
  const { staging, digest } = await stagedImage();
  const body = { image: `${h.registryHost}/${staging}@${digest}`, to: `${h.registryHost}/release/x` };
  const now = Math.floor(Date.now() / 1000);
  const answers = await Promise.all([
    call('/api/v1/publishes', { method: 'POST', body }),
    call('/api/v1/publishes', { method: 'POST', body, token: 'x'.repeat(64) }),
    // Attacker material: an honestly signed token that expired ten minutes ago.
    call('/api/v1/publishes', { method: 'POST', body, token: ghToken({ exp: now - 600, iat: now - 900 }) }),
    // Attacker material: a token for another relying party.
    call('/api/v1/publishes', { method: 'POST', body, token: ghToken({ aud: 'someone-else' }) }),
  ]);
  const bodies = await Promise.all(answers.map((r) => r.text()));
  assert.deepEqual(
    answers.map((r) => r.status),
    [401, 401, 401, 401],
  );
  assert.equal(new Set(bodies).size, 1, 'every 401 has the same body');
  const forbidden = await call('/api/v1/publishes', { method: 'POST', body, token: tokens.auditor });
  assert.equal(forbidden.status, 403);
  assert.equal(((await forbidden.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  // Attacker material: a real GitHub Actions token for a repository no grant names.
  const stranger = await call('/api/v1/publishes', {
    method: 'POST',
    body,
    token: ghToken({ repository: 'mallory/app' }),
  });
  assert.equal(stranger.status, 403);
  await notStarted(publishWorkflowId(h.registryHost, 'release/x', digest));
});

test('malformed requests get a coded 400 naming the field, and nothing is started', async () => {
  const { staging, digest } = await stagedImage();
  const image = `${h.registryHost}/${staging}@${digest}`;
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  const cases: Array<[unknown, string]> = [
    [{ to }, 'image'],
    [{ image: `${h.registryHost}/${staging}:v1.0.0`, to }, 'image'],
    [{ image, to: 'not a repository' }, 'to'],
    [{ image, to, tag: 'bad tag!' }, 'tag'],
    [{ image, to, tag: 'v'.repeat(100_000) }, 'tag'],
    // Attacker material: the policy field the CLI used to send (`publish --policy lax.yaml`).
    [{ image, to, policy: { text: 'version: 1', origin: 'lax.yaml' } }, 'policy'],
    [{ image, to, requester: 'not-mallory' }, 'requester'],
  ];
  for (const [body, field] of cases) {
    const res = await call('/api/v1/publishes', { method: 'POST', token: tokens.mallory, body });
    const text = await res.text();
    assert.ok([400, 413].includes(res.status), `${field}: ${res.status} ${text.slice(0, 200)}`);
    const parsed = JSON.parse(text) as { error: { code: string; parameter?: string } };
    assert.equal(parsed.error.parameter, res.status === 413 ? 'body' : field);
    assert.ok(!text.includes('    at '), 'no stack trace');
  }
  const notJson = await call('/api/v1/publishes', {
    method: 'POST',
    token: tokens.mallory,
    raw: '{"image":',
  });
  assert.equal(notJson.status, 400);
  assert.equal(((await notJson.json()) as { error: { parameter: string } }).error.parameter, 'body');
  await notStarted(publishWorkflowId(h.registryHost, to.slice(h.registryHost.length + 1), digest));
});

test('a body with a repeated key is a coded 400 naming the key, on every JSON route; nothing is started', async () => {
  const { staging, digest } = await stagedImage();
  const image = `${h.registryHost}/${staging}@${digest}`;
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  const elsewhere = `${h.registryHost}/release/${uniqueName('elsewhere')}`;
  // Attacker material: a body written by hand with `to` twice. JSON.parse keeps the last one,
  // while a proxy, a log or a reviewer reading the first sees another destination
  // (docs/checklist.md#row-17). The second copy is spelled with a \u escape, as a key filter would miss it.
  const start = await call('/api/v1/publishes', {
    method: 'POST',
    token: tokens.mallory,
    raw: `{"image":${JSON.stringify(image)},"to":${JSON.stringify(to)},"\\u0074o":${JSON.stringify(elsewhere)}}`,
  });
  const startError = (await start.json()) as { error: { code: string; parameter?: string; message: string } };
  assert.equal(start.status, 400, JSON.stringify(startError));
  assert.equal(startError.error.code, 'INPUT_INVALID');
  assert.equal(startError.error.parameter, 'to');
  await notStarted(publishWorkflowId(h.registryHost, to.slice(h.registryHost.length + 1), digest));
  await notStarted(publishWorkflowId(h.registryHost, elsewhere.slice(h.registryHost.length + 1), digest));

  // The verdict bodies too (a reason shown to one reader and another archived), and nested keys.
  const verdictPath = `/api/v1/publishes/${encodeURIComponent(publishWorkflowId(h.registryHost, 'release/x', digest))}/approve`;
  const verdict = await call(verdictPath, {
    method: 'POST',
    token: tokens.bob,
    raw: '{"reason":"reviewed the diff","reason":"rubber stamp"}',
  });
  const verdictError = (await verdict.json()) as { error: { code: string; parameter?: string } };
  assert.equal(verdict.status, 400, JSON.stringify(verdictError));
  assert.deepEqual([verdictError.error.code, verdictError.error.parameter], ['INPUT_INVALID', 'reason']);
  const nested = await call('/api/v1/publishes', {
    method: 'POST',
    token: tokens.mallory,
    raw: `{"image":${JSON.stringify(image)},"to":${JSON.stringify(to)},"x":{"a":1,"a":2}}`,
  });
  const nestedError = (await nested.json()) as { error: { code: string; parameter?: string } };
  assert.equal(nested.status, 400, JSON.stringify(nestedError));
  assert.deepEqual([nestedError.error.code, nestedError.error.parameter], ['INPUT_INVALID', 'x.a']);

  // The administrators' bodies: a revocation whose digest is given twice (one digest logged,
  // another revoked) and a policy given twice.
  const admin: Array<[string, string, string]> = [
    [
      '/api/v1/revocations',
      `{"digest":"${digest}","reason":"compromised","digest":"sha256:${'0'.repeat(64)}"}`,
      'digest',
    ],
    ['/api/v1/policies', '{"policy":"version: 1","policy":"version: 2"}', 'policy'],
  ];
  for (const [path, raw, key] of admin) {
    const res = await call(path, { method: 'POST', token: tokens.admin, raw });
    const error = (await res.json()) as { error: { code: string; parameter?: string } };
    assert.equal(res.status, 400, `${path}: ${JSON.stringify(error)}`);
    assert.deepEqual([error.error.code, error.error.parameter], ['INPUT_INVALID', key], path);
  }
  await notStarted(revokeWorkflowId(digest));
  assert.equal(await h.deps.archive.revocationOf(digest), null, 'nothing was revoked');
});

test('the publish routes serve publish runs only: another workflow of the namespace is 404 to every scope', async () => {
  // Attacker material: an auditor's token used on the progress route with the id of a run that
  // is not a publish (here a drift-monitor run, started as its Schedule starts it). Before, the
  // route described it and returned its result, whatever the workflow.
  const workflowId = uniqueName('monitor-releases');
  const monitor = await h.client.workflow.start('monitorReleases', {
    taskQueue: h.config.taskQueue,
    workflowId,
    args: [{ repositories: [] }],
  });
  assert.deepEqual(await monitor.result(), { repositories: [], findingsByKind: {}, newFindings: 0 });
  const path = `/api/v1/publishes/${encodeURIComponent(workflowId)}`;
  for (const token of [tokens.auditor, tokens.mallory, tokens.bob]) {
    const res = await call(path, { token });
    const body = await res.text();
    assert.equal(res.status, 404, body);
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'NOT_FOUND');
    assert.ok(!body.includes('repositories'), 'nothing of the run is shown');
  }
  const approve = await call(`${path}/approve`, {
    method: 'POST',
    token: tokens.bob,
    body: { reason: 'ok' },
  });
  assert.equal(approve.status, 404, await approve.clone().text());
});

test('an admin credential loads the policy in force as `policy load` does; a policy `policy check` refuses is refused', async () => {
  const { staging, digest } = await stagedImage();
  requestFor(h, staging, digest);
  const text = h.policies.get(digest)!;
  const load = (token: string | undefined, body: unknown) =>
    call('/api/v1/policies', { method: 'POST', ...(token ? { token } : {}), body });
  const before = await h.deps.archive.currentPolicyVersion();

  // Credentials without the admin scope: a CI token that may publish and approve, an auditor.
  assert.equal((await load(undefined, { policy: text })).status, 401);
  for (const token of [tokens.mallory, tokens.auditor]) {
    const res = await load(token, { policy: text });
    assert.equal(res.status, 403, await res.clone().text());
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  }
  assert.deepEqual(await h.deps.archive.currentPolicyVersion(), before, 'nothing was loaded');

  const loaded = await load(tokens.admin, { policy: text, origin: 'ops/policy.json' });
  assert.equal(loaded.status, 201, await loaded.clone().text());
  const version = (await loaded.json()) as {
    version: number;
    digest: string;
    loadedBy: string;
    origin: string;
    created: boolean;
  };
  assert.equal(version.version, (before?.version ?? 0) + 1);
  assert.equal(version.created, true);
  assert.equal(version.loadedBy, 'token:admin', 'the verified identity, not a typed name');
  assert.equal(version.origin, 'api:ops/policy.json');
  assert.equal((await h.deps.archive.currentPolicy())?.text, text);
  // The same text again adds no version, as `policy load` of an unchanged file.
  const again = await load(tokens.admin, { policy: text });
  assert.equal(again.status, 200);
  const unchanged = (await again.json()) as { version: number; created: boolean };
  assert.deepEqual([unchanged.version, unchanged.created], [version.version, false]);

  // A publish is decided under the version loaded through the API.
  const workflowId = await requestPublish(staging, digest);
  const done = (await waitFor(workflowId, 'Published')) as { result?: { decisionId: string } };
  const decision = await h.deps.archive.getDecision(done.result!.decisionId);
  assert.deepEqual([decision?.policy.digest, decision?.policy.version], [version.digest, version.version]);

  // Attacker material, as an operator's mistake or a stolen admin token would send it: a YAML
  // policy with a key given twice (the second `minBuildLevel: 0` would win in a lax reader),
  // a rule with no identity (anyone's signature), and the loaded policy with its source widened
  // to any repository of the owner (docs/policy.md#breadth-policy_too_broad). `policy check`
  // refuses all three files.
  const widened = JSON.parse(text) as { rules: Array<{ source: { repos: string[] } }> };
  widened.rules[0]!.source.repos = ['github.com/example/*'];
  const refusedTexts = [
    JSON.stringify(widened),
    `version: 1\nname: lax\nrules:\n  - name: app\n    artifacts: ['${h.registryHost}/${staging}']\n    identities: [{ keyId: ${h.builderKey.keyId} }]\n    minBuildLevel: 3\n    minBuildLevel: 0\n`,
    JSON.stringify({
      ...(JSON.parse(text) as object),
      rules: [{ name: 'app', artifacts: ['x/y'], identities: [] }],
    }),
  ];
  for (const refusedText of refusedTexts) {
    const file = join(h.dir, `${uniqueName('refused')}.yaml`);
    writeFileSync(file, refusedText);
    const check = await run(process.execPath, [cli, 'policy', 'check', file, '--json']).then(
      () => assert.fail('policy check accepts it'),
      (err: { stdout: string }) => JSON.parse(err.stdout) as { valid: boolean; code: string },
    );
    assert.equal(check.valid, false);
    const res = await load(tokens.admin, { policy: refusedText });
    const body = (await res.json()) as {
      error: { code: string; parameter?: string; problems?: Array<{ path: string }> };
    };
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, check.code, 'the same verdict as policy check');
    if (refusedText === refusedTexts[0]) assert.equal(body.error.code, 'POLICY_TOO_BROAD');
    assert.equal(body.error.parameter, 'policy');
    assert.ok((body.error.problems ?? []).length > 0, 'every problem is listed');
  }
  assert.equal((await h.deps.archive.currentPolicyVersion())?.version, version.version, 'nothing was loaded');
});

test('one token cannot be requester and approver under the two-person rule; a second identity approves', async () => {
  const { staging, digest } = await stagedImage();
  // The operator's policy for this candidate: approval by a second person.
  requestFor(h, staging, digest, { policy: { approvalRequired: true, twoPersonRule: true } });
  await h.loadPolicy(h.policies.get(digest)!);
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  const workflowId = await requestPublish(staging, digest);
  await waitFor(workflowId, 'AwaitingApproval');
  const verdictPath = `/api/v1/publishes/${encodeURIComponent(workflowId)}/approve`;
  // Attacker material: mallory's one token approving her own request. Before: with
  // `approve --approver not-mallory` a second typed name was enough; the API has no name to type.
  const self = await call(verdictPath, { method: 'POST', token: tokens.mallory, body: { reason: 'lgtm' } });
  assert.equal(self.status, 403);
  assert.equal(((await self.json()) as { error: { code: string } }).error.code, 'APPROVER_NOT_ALLOWED');
  const typed = await call(verdictPath, {
    method: 'POST',
    token: tokens.mallory,
    body: { reason: 'lgtm', approver: 'not-mallory' },
  });
  assert.equal(typed.status, 400, 'a typed approver name is not a field of the API');
  await assertNothingPublished(h.registry, to.slice(h.registryHost.length + 1), digest);

  const approved = await call(verdictPath, {
    method: 'POST',
    token: tokens.bob,
    body: { reason: 'reviewed' },
  });
  assert.equal(approved.status, 200, await approved.clone().text());
  const done = await waitFor(workflowId, 'Published');
  assert.ok(done);
  const [decision] = await h.deps.archive.findDecisionsByDigest(digest);
  assert.equal(decision?.requester, 'token:mallory');
  assert.deepEqual(
    (await h.deps.archive.listApprovals(decision!._id)).map((a) => a.approver),
    ['token:bob'],
  );

  // Publishing it again: the first decision, no second run.
  const again = await call('/api/v1/publishes', {
    method: 'POST',
    token: tokens.mallory,
    body: { image: `${h.registryHost}/${staging}:v1.0.0@${digest}`, to },
  });
  assert.equal(again.status, 200);
  const body = (await again.json()) as { alreadyPublished: boolean; decisionId: string };
  assert.equal(body.alreadyPublished, true);
  assert.equal(body.decisionId, decision?._id);
  assert.equal((await h.deps.archive.findDecisionsByDigest(digest)).length, 1);
});

test('a GitHub Actions identity is the recorded requester', async () => {
  const { staging, digest } = await stagedImage();
  requestFor(h, staging, digest);
  await h.loadPolicy(h.policies.get(digest)!);
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  const started = await call('/api/v1/publishes', {
    method: 'POST',
    token: ghToken(),
    body: { image: `${h.registryHost}/${staging}:v1.0.0@${digest}`, to },
  });
  assert.equal(started.status, 202, await started.clone().text());
  const { workflowId } = (await started.json()) as { workflowId: string };
  const res = await call(`/api/v1/publishes/${encodeURIComponent(workflowId)}?wait=60`, {
    token: tokens.auditor,
  });
  const progress = (await res.json()) as { status: string; result?: { decisionId: string } };
  assert.equal(progress.status, 'Published');
  const decision = await h.deps.archive.getDecision(progress.result!.decisionId);
  assert.equal(decision?.requester, `${issuer.issuer}#repo:acme/app:ref:refs/tags/v1.0.0`);
});

test('an approval with no worker to take it is a 503 within the time limit, not a silent wait', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest);
  const workflowId = `${publishWorkflowId(request.releaseRegistry, request.releaseRepository, digest)}-idle`;
  // A run on a task queue no worker polls: what `approve` met when the worker was down.
  const handle = await h.client.workflow.start('publishArtifact', {
    taskQueue: uniqueName('nobody'),
    workflowId,
    args: [request],
  });
  try {
    const startedAt = Date.now();
    const res = await call(`/api/v1/publishes/${encodeURIComponent(workflowId)}/approve`, {
      method: 'POST',
      token: tokens.bob,
      body: { reason: 'ok' },
    });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TEMPORAL_UNAVAILABLE');
    assert.ok(res.headers.get('retry-after'));
    assert.ok(Date.now() - startedAt < 15_000);
  } finally {
    await handle.terminate('test over');
  }
});

test('an approval sealed for one run does not count on a later run of the same workflow id', async () => {
  const { staging, digest } = await stagedImage();
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  // The operator's rule lets this image go to `to` under its source tag and `latest`.
  requestFor(h, staging, digest, {
    policy: {
      approvalRequired: true,
      twoPersonRule: true,
      release: { destinations: [to], tags: ['source-tag', 'latest'] },
    },
  });
  await h.loadPolicy(h.policies.get(digest)!);
  const ask = (tag: string) =>
    call('/api/v1/publishes', {
      method: 'POST',
      token: tokens.mallory,
      body: { image: `${h.registryHost}/${staging}@${digest}`, to, tag },
    });
  const first = await ask('v1.0.0');
  assert.equal(first.status, 202, await first.clone().text());
  const { workflowId, runId: firstRun } = (await first.json()) as { workflowId: string; runId: string };
  await waitFor(workflowId, 'AwaitingApproval');
  const approved = await call(`/api/v1/publishes/${encodeURIComponent(workflowId)}/approve`, {
    method: 'POST',
    token: tokens.bob,
    body: { reason: 'reviewed v1.0.0' },
  });
  assert.equal(approved.status, 200, await approved.clone().text());
  const published = (await waitFor(workflowId, 'Published')) as { result?: { approval?: object } };
  // What anyone with publish or audit:read reads carries no seal.
  assert.ok(published.result?.approval, 'the result names the approval');
  assert.equal('identity' in published.result.approval, false, 'no sealed identity in the progress');

  // Attacker material: bob's sealed approval as the first run's history holds it (what the
  // Temporal UI shows anyone with namespace access), sent by mallory as an Update to the run
  // her second request (the same digest and destination, tag `latest`) starts under the same id.
  const history = await h.client.workflow.getHandle(workflowId, firstRun).fetchHistory();
  const update = history.events?.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
  const payload =
    update?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
  assert.ok(payload?.data, 'the first run recorded bob’s approval');
  const bobsApproval = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { identity: object };
  assert.ok(bobsApproval.identity, 'the recorded approval carries bob’s seal');

  const second = await ask('latest');
  assert.equal(second.status, 202, await second.clone().text());
  const { runId: secondRun } = (await second.json()) as { runId: string };
  assert.notEqual(secondRun, firstRun);
  await waitFor(workflowId, 'AwaitingApproval');
  const handle = h.client.workflow.getHandle(workflowId, secondRun);
  await assert.rejects(
    handle.executeUpdate('approve', { args: [{ ...bobsApproval, approver: 'bob', reason: 'replayed' }] }),
    (err: unknown) =>
      err instanceof WorkflowUpdateFailedError &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === 'APPROVER_NOT_ALLOWED',
  );
  assert.equal((await waitFor(workflowId, 'AwaitingApproval')).status, 'AwaitingApproval');
  const tags = await listTags(h.registryHost, to.slice(h.registryHost.length + 1));
  assert.equal(tags.includes('latest'), false, `nothing tagged latest: ${tags.join(', ')}`);
  await handle.terminate('test over');
});

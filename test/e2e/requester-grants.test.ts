/**
 * Requesters bound to what they may release (docs/security-model.md#what-a-requester-may-publish),
 * on the real services: a Temporal dev server with a real Worker, the registry, FerretDB, the
 * API and a loopback OIDC issuer (test/helpers/oidc-issuer.ts) whose RS256 ID tokens carry
 * the claims GitHub Actions gives (`sub`, `repository`, `repository_id`, `repository_owner_id`,
 * `ref`). The demo builder's images are built from `github.com/example/app`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { hashToken } from '../../src/api/api-tokens.ts';
import type { PublishResult } from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { githubActionsToken, startIssuer, type LoopbackIssuer } from '../helpers/oidc-issuer.ts';
import { assertNothingPublished, listTags } from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import {
  requestFor,
  stageDemoImage,
  startPublishHarness,
  type PublishHarness,
} from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const AUDIENCE = 'slsa-gate';
let h: PublishHarness;
let issuer: LoopbackIssuer;
let api: ApiRig;
const bob = randomBytes(32).toString('hex');

/** example/app builds the demo images; acme/other is another repository of another owner. */
const EXAMPLE_APP = { repository: 'example/app', repositoryId: '1001', ownerId: '501' };
const ACME_OTHER = { repository: 'acme/other', repositoryId: '2002', ownerId: '602' };

before(async () => {
  h = await startPublishHarness();
  issuer = await startIssuer('gh-grants');
  api = await startApi(h, {
    tokens: [{ name: 'bob', sha256: hashToken(bob), scopes: ['approve'] }],
    oidc: [{ issuer: issuer.issuer, audience: AUDIENCE, claims: 'github-actions' }],
    grants: [
      // Each repository's release workflow on main may request publishes.
      {
        issuer: issuer.issuer,
        claims: { repository: 'example/app', ref: 'refs/heads/main' },
        scopes: ['publish'],
      },
      {
        issuer: issuer.issuer,
        claims: { repository: 'acme/other', ref: 'refs/heads/main' },
        scopes: ['publish'],
      },
      // A review workflow on the branch `review` may approve.
      { issuer: issuer.issuer, claims: { ref: 'refs/heads/review' }, scopes: ['approve'] },
    ],
  });
});

after(async () => {
  await api?.close();
  await issuer?.close();
  await h?.close();
});

async function post(path: string, token: string, body: unknown) {
  const res = await api.call(path, { method: 'POST', token, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function ciToken(repo: typeof EXAMPLE_APP, ref: string) {
  return githubActionsToken(issuer, AUDIENCE, { ...repo, ref });
}

test('a CI token for one repository requesting the publish of another repository’s build is denied REQUESTER_NOT_ALLOWED', async () => {
  const { staging, digest } = await stageDemoImage(h);
  const release = staging.replace(/^staging\//, 'release/');
  requestFor(h, staging, digest);
  await h.loadPolicy(h.policies.get(digest)!);
  // Attacker material: a real token of acme/other's release workflow (it holds the publish
  // grant for its own repository) asking for example/app's build, which the policy accepts.
  // Before: published, with acme/other recorded as the requester.
  const candidate = {
    image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
    to: `${h.registryHost}/${release}`,
  };
  const asked = await api.requestPublish(ciToken(ACME_OTHER, 'refs/heads/main'), candidate);
  const result = (await asked.handle.result()) as PublishResult;
  assert.equal(result.status, 'DENIED', `${result.code}: ${result.reason}`);
  assert.equal(result.code, 'REQUESTER_NOT_ALLOWED', result.reason);
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.status, 'denied', 'the denial is archived');
  assert.equal(decision.checks.find((c) => c.id === 'requester')?.code, 'REQUESTER_NOT_ALLOWED');
  assert.equal(
    decision.source?.repo,
    'git+https://github.com/example/app',
    'matched against the verified source',
  );
  await assertNothingPublished(h.registry, release, digest);

  // example/app's own release workflow publishes the same build.
  const own = await api.requestPublish(ciToken(EXAMPLE_APP, 'refs/heads/main'), candidate);
  const published = (await own.handle.result()) as PublishResult;
  assert.equal(published.status, 'PUBLISHED', `${published.code}: ${published.reason}`);
  assert.equal(published.checks.find((c) => c.id === 'requester')?.result, 'PASS');
});

test('one repository cannot approve its own request from another branch under the two-person rule', async () => {
  const { staging, digest } = await stageDemoImage(h);
  const release = staging.replace(/^staging\//, 'release/');
  requestFor(h, staging, digest, { policy: { approvalRequired: true, twoPersonRule: true } });
  await h.loadPolicy(h.policies.get(digest)!);
  const { workflowId, handle } = await api.requestPublish(ciToken(EXAMPLE_APP, 'refs/heads/main'), {
    image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
    to: `${h.registryHost}/${release}`,
  });
  assert.equal(
    (await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' }))?.status,
    'AwaitingApproval',
  );
  const approve = `/api/v1/publishes/${encodeURIComponent(workflowId)}/approve`;

  // Attacker material: real tokens of the same repository (same repository_id) from a workflow
  // on the branch `review`, which holds the approve grant; their `sub` differs from the
  // requester's (`repo:example/app:ref:refs/heads/review`). The second is from after the
  // repository was renamed (GitHub keeps its id; `sub` and `repository` change). Before:
  // identities compared by `sub`; the first was refused only because the display names (the
  // `repository` claim) were equal, and the renamed one published.
  const renamed = { ...EXAMPLE_APP, repository: 'example/app-renamed' };
  for (const token of [ciToken(EXAMPLE_APP, 'refs/heads/review'), ciToken(renamed, 'refs/heads/review')]) {
    const sameRepository = await post(approve, token, { reason: 'lgtm' });
    assert.equal(sameRepository.status, 403, JSON.stringify(sameRepository.body));
    assert.equal((sameRepository.body.error as { code: string }).code, 'APPROVER_NOT_ALLOWED');
    const waiting = await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' });
    assert.equal(waiting?.status, 'AwaitingApproval');
    assert.deepEqual(await listTags(h.registryHost, release), [], 'nothing published');
  }

  // A person approves.
  const approved = await post(approve, bob, { reason: 'reviewed' });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.approval?.approver, 'token:bob');
});

test('a grant that names destinations: any other release repository is refused before anything starts', async () => {
  const { staging, digest } = await stageDemoImage(h);
  const named = staging.replace(/^staging\//, 'release/');
  const other = `release/${uniqueName('other')}`;
  // The operator's rule allows both release repositories; the grant names only the first.
  requestFor(h, staging, digest, {
    policy: { release: { destinations: [`${h.registryHost}/${named}`, `${h.registryHost}/${other}`] } },
  });
  await h.loadPolicy(h.policies.get(digest)!);
  const scoped = await startApi(h, {
    oidc: [{ issuer: issuer.issuer, audience: AUDIENCE, claims: 'github-actions' }],
    grants: [
      {
        issuer: issuer.issuer,
        claims: { repository: 'example/app' },
        scopes: ['publish'],
        destinations: [`${h.registryHost}/${named}`],
      },
    ],
  });
  try {
    const token = ciToken(EXAMPLE_APP, 'refs/heads/main');
    // Attacker material: example/app's real token asking for a release repository its grant
    // does not name. Before: grants named no destinations, and it was started and published.
    const elsewhere = await scoped.call('/api/v1/publishes', {
      method: 'POST',
      token,
      body: { image: `${h.registryHost}/${staging}:v1.0.0@${digest}`, to: `${h.registryHost}/${other}` },
    });
    const body = (await elsewhere.json()) as { error?: { code: string; parameter?: string } };
    assert.equal(elsewhere.status, 403, JSON.stringify(body));
    assert.equal(body.error?.code, 'REQUESTER_NOT_ALLOWED');
    assert.equal(body.error?.parameter, 'to');
    await assertNothingPublished(h.registry, other, digest);

    const granted = await scoped.requestPublish(token, {
      image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
      to: `${h.registryHost}/${named}`,
    });
    const result = (await granted.handle.result()) as PublishResult;
    assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  } finally {
    await scoped.close();
  }
});

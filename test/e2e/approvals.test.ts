/**
 * Approvals by quorum and group (docs/security-model.md#approvals), end to end on the real
 * services: a Temporal dev server with a real Worker, the registry, FerretDB, the API in front
 * of them, and a loopback OIDC issuer (test/helpers/oidc-issuer.ts) standing for the
 * operator's identity provider. Group membership comes from the API's token configuration:
 * hashed tokens and an OIDC grant by an exact verified claim. Attacker material is made as
 * each comment says.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { hashToken, type ApiTokensConfig } from '../../src/api/api-tokens.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import type { PublishProgress } from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { startIssuer, type LoopbackIssuer } from '../helpers/oidc-issuer.ts';
import { assertNothingPublished } from '../helpers/publish-checks.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const AUDIENCE = 'slsa-gate';
const QUORUM = { required: 2, from: ['release-managers'] };
let h: PublishHarness;
let issuer: LoopbackIssuer;
let api: ApiRig;
const tokens = {
  // The CI bot that asks; it also holds approve and is in release-managers: it still may not count.
  ci: randomBytes(32).toString('hex'),
  alice: randomBytes(32).toString('hex'),
  bob: randomBytes(32).toString('hex'),
  // A real approver, but of another group.
  carol: randomBytes(32).toString('hex'),
  auditor: randomBytes(32).toString('hex'),
};

before(async () => {
  h = await startPublishHarness();
  issuer = await startIssuer('idp-1');
  const config: ApiTokensConfig = {
    tokens: [
      {
        name: 'ci',
        sha256: hashToken(tokens.ci),
        scopes: ['publish', 'approve'],
        groups: ['release-managers'],
        // The demo builder's images are builds of example/app.
        sources: ['github.com/example/app'],
      },
      { name: 'alice', sha256: hashToken(tokens.alice), scopes: ['approve'], groups: ['release-managers'] },
      { name: 'bob', sha256: hashToken(tokens.bob), scopes: ['approve'], groups: ['release-managers'] },
      { name: 'carol', sha256: hashToken(tokens.carol), scopes: ['approve'], groups: ['security'] },
      { name: 'auditor', sha256: hashToken(tokens.auditor), scopes: ['audit:read'] },
    ],
    oidc: [{ issuer: issuer.issuer, audience: AUDIENCE, claims: 'generic' }],
    grants: [
      {
        issuer: issuer.issuer,
        claims: { email: 'dana@example.com' },
        scopes: ['approve'],
        groups: ['release-managers'],
      },
    ],
  };
  // Generous: on a loaded machine a workflow task can take tens of seconds.
  api = await startApi(h, config, { temporalTimeoutMs: 120_000 });
});

after(async () => {
  await api?.close();
  await issuer?.close();
  await h?.close();
});

/** A staged image whose rule needs the quorum, requested through the API by the CI token. */
async function requestedForQuorum() {
  const staging = `staging/${uniqueName('quorum')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const release = `release/${staging.slice('staging/'.length)}`;
  requestFor(h, staging, digest, { policy: { approvals: QUORUM } });
  await h.loadPolicy(h.policies.get(digest)!);
  const started = await api.call('/api/v1/publishes', {
    method: 'POST',
    token: tokens.ci,
    body: { image: `${h.registryHost}/${staging}:v1.0.0@${digest}`, to: `${h.registryHost}/${release}` },
  });
  assert.equal(started.status, 202, await started.clone().text());
  const { workflowId } = (await started.json()) as { workflowId: string };
  const waiting = await waitFor(workflowId, 'AwaitingApproval');
  return { digest, release, workflowId, waiting };
}

type Progress = PublishProgress & { workflowId: string };

async function waitFor(workflowId: string, status: string): Promise<Progress> {
  // Generous: on a loaded machine a workflow task can take tens of seconds.
  for (let i = 0; i < 1200; i++) {
    const res = await api.call(`/api/v1/publishes/${encodeURIComponent(workflowId)}`, {
      token: tokens.auditor,
    });
    if (res.status === 200) {
      const body = (await res.json()) as Progress;
      if (body.status === status) return body;
    } else await res.body?.cancel();
    await sleep(500);
  }
  throw new Error(`never reached ${status}`);
}

async function verdict(workflowId: string, kind: 'approve' | 'reject', token: string, reason = 'reviewed') {
  const res = await api.call(`/api/v1/publishes/${encodeURIComponent(workflowId)}/${kind}`, {
    method: 'POST',
    token,
    body: { reason },
  });
  const body = (await res.json()) as Progress & { error?: { code: string; message: string } };
  return { status: res.status, body };
}

function personToken(email: string): string {
  const now = Math.floor(Date.now() / 1000);
  return issuer.sign({
    iss: issuer.issuer,
    aud: AUDIENCE,
    sub: `person-${email}`,
    email,
    email_verified: true,
    iat: now,
    exp: now + 300,
  });
}

test('a quorum of two from release-managers: one approval, a repeat, the requester and another group do not publish; two members do', async () => {
  const { digest, release, workflowId, waiting } = await requestedForQuorum();
  assert.deepEqual(waiting.approvals, { required: 2, given: [] });

  const first = await verdict(workflowId, 'approve', tokens.alice);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.status, 'AwaitingApproval', 'one approval of two does not publish');
  assert.equal(first.body.approvals?.required, 2);
  assert.deepEqual(
    first.body.approvals?.given.map((g) => [g.approver, g.group, g.verified]),
    [['token:alice', 'release-managers', true]],
  );
  await assertNothingPublished(h.registry, release, digest);

  // Attacker material: alice's token used a second time, and her sealed approval as the run's
  // history holds it (what anyone with namespace access reads) sent again straight to Temporal.
  const again = await verdict(workflowId, 'approve', tokens.alice, 'me again');
  assert.equal(again.status, 403, JSON.stringify(again.body));
  assert.equal(again.body.error?.code, 'APPROVER_NOT_ALLOWED');
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const accepted = history.events?.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
  const payload =
    accepted?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
  assert.ok(payload?.data, 'the history holds alice’s approval');
  const alicesApproval = JSON.parse(Buffer.from(payload.data).toString('utf8')) as object;
  await assert.rejects(
    h.client.workflow.getHandle(workflowId).executeUpdate('approve', {
      args: [{ ...alicesApproval, approver: 'someone else', reason: 'replayed' }],
    }),
    (err: unknown) =>
      err instanceof WorkflowUpdateFailedError &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === 'APPROVER_NOT_ALLOWED',
  );

  // Attacker material: the requester's own CI token, which holds approve and is a member of
  // release-managers. Before quorums, an approvalRequired rule let the requester approve.
  const self = await verdict(workflowId, 'approve', tokens.ci);
  assert.equal(self.status, 403, JSON.stringify(self.body));
  assert.equal(self.body.error?.code, 'APPROVER_NOT_ALLOWED');

  // Attacker material: carol's real approve-scoped token; she is in `security`, not `release-managers`.
  const outsider = await verdict(workflowId, 'approve', tokens.carol);
  assert.equal(outsider.status, 403, JSON.stringify(outsider.body));
  assert.equal(outsider.body.error?.code, 'APPROVER_NOT_ALLOWED');

  const still = await waitFor(workflowId, 'AwaitingApproval');
  assert.equal(still.approvals?.given.length, 1, 'refused verdicts do not count');
  await assertNothingPublished(h.registry, release, digest);

  // Dana is a member through the OIDC grant on her verified email.
  const second = await verdict(workflowId, 'approve', personToken('dana@example.com'));
  assert.equal(second.status, 200, JSON.stringify(second.body));
  const done = await waitFor(workflowId, 'Published');
  assert.equal(done.result?.status, 'PUBLISHED');
  assert.equal((await h.registry.resolve(release, digest)).digest, digest);
  const approvals = await h.deps.archive.listApprovals(done.result!.decisionId);
  assert.deepEqual(
    approvals.map((a) => [a.approver, a.verdict, a.group, a.verified]),
    [
      ['token:alice', 'approve', 'release-managers', true],
      [`${issuer.issuer}#person-dana@example.com`, 'approve', 'release-managers', true],
    ],
  );
  assert.equal((await h.deps.archive.getDecision(done.result!.decisionId))?.requester, 'token:ci');
});

test('a reject after one approval ends the run: nothing is published and no later approval counts', async () => {
  const { digest, release, workflowId } = await requestedForQuorum();
  const first = await verdict(workflowId, 'approve', tokens.alice);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.status, 'AwaitingApproval');

  const rejected = await verdict(workflowId, 'reject', tokens.bob, 'not this build');
  assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
  const denied = await waitFor(workflowId, 'Denied');
  assert.equal(denied.result?.code, 'APPROVAL_REJECTED');

  // Attacker material: a real member's approval sent after the reject, as a second approver would.
  const late = await verdict(workflowId, 'approve', personToken('dana@example.com'), 'too late');
  assert.equal(late.status, 409, JSON.stringify(late.body));
  await assertNothingPublished(h.registry, release, digest);
  const decision = await h.deps.archive.getDecision(denied.result!.decisionId);
  assert.equal(decision?.status, 'rejected');
  assert.deepEqual(
    (await h.deps.archive.listApprovals(decision!._id)).map((a) => [
      a.approver,
      a.verdict,
      a.group,
      a.verified,
    ]),
    [
      ['token:alice', 'approve', 'release-managers', true],
      ['token:bob', 'reject', 'release-managers', true],
    ],
  );
});

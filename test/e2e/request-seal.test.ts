/**
 * One credential, one run (docs/security-model.md#one-credential-one-run), on the real
 * services: a Temporal dev server with a real Worker, the registry, FerretDB and the API.
 * The requester's seal names the workflow, a digest of the request and a nonce that one run
 * consumes; a run whose request is not the one sealed, a second run with the same seal and a
 * seal older than its lifetime are denied before any step, and the denial is archived.
 *
 * The attacker can read a run's history (the Temporal UI) and start workflows in the
 * namespace; each test says how its material was made. Approvals on the attacker's runs are
 * given by carol, an approver who is not the requester, through the API: what it took on the
 * gate before this binding to publish them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { hashToken } from '../../src/api/api-tokens.ts';
import { SEAL_LIFETIME_SECONDS } from '../../src/core/identity-seal.ts';
import { demoPolicy } from '../../src/demo/demo-builder.ts';
import type { PublishProgress, PublishRequest, PublishResult } from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { listTags } from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import {
  requestFor,
  stageDemoImage,
  startPublishHarness,
  type PublishHarness,
} from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import { activityRuns } from '../helpers/workflow-history.ts';

let h: PublishHarness;
let api: ApiRig;
const tokens = {
  mallory: randomBytes(32).toString('hex'),
  bob: randomBytes(32).toString('hex'),
  carol: randomBytes(32).toString('hex'),
};

before(async () => {
  h = await startPublishHarness();
  api = await startApi(h, {
    tokens: [
      {
        name: 'mallory',
        sha256: hashToken(tokens.mallory),
        scopes: ['publish'],
        sources: ['github.com/example/app'],
      },
      { name: 'bob', sha256: hashToken(tokens.bob), scopes: ['approve'] },
      { name: 'carol', sha256: hashToken(tokens.carol), scopes: ['approve'] },
    ],
  });
});

after(async () => {
  await api?.close();
  await h?.close();
});

async function call(path: string, token: string, body: unknown) {
  const res = await api.call(path, { method: 'POST', token, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The operator's rule: approval by someone other than the requester, to `release` under the source tag or `latest`. */
async function loadApprovalPolicy(stagings: string[], release: string) {
  await h.loadPolicy(
    demoPolicy(
      stagings.map((s) => `${h.registryHost}/${s}`),
      {
        approvalRequired: true,
        twoPersonRule: true,
        release: { destinations: [`${h.registryHost}/${release}`], tags: ['source-tag', 'latest'] },
      },
    ),
  );
}

/** The input a run was started with, as its history records it (what the Temporal UI shows). */
async function requestOfRun(workflowId: string, runId: string): Promise<PublishRequest> {
  const history = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  assert.ok(payload?.data, 'the run recorded its request');
  return JSON.parse(Buffer.from(payload.data).toString('utf8')) as PublishRequest;
}

/** mallory asks through the API; bob rejects through the API. Returns the closed run. */
async function rejectedRun(staging: string, digest: string, release: string) {
  const { workflowId, runId, handle } = await api.requestPublish(tokens.mallory, {
    image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
    to: `${h.registryHost}/${release}`,
  });
  assert.equal(
    (await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' }))?.status,
    'AwaitingApproval',
  );
  const rejected = await call(`/api/v1/publishes/${encodeURIComponent(workflowId)}/reject`, tokens.bob, {
    reason: 'not this build',
  });
  assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.code, 'APPROVAL_REJECTED');
  return { workflowId, runId };
}

/**
 * Starts `request` as a new run under `workflowId`, straight on Temporal; if the run comes to
 * wait for approval, carol approves it through the API. Returns the run and its result.
 */
async function attackRun(workflowId: string, request: PublishRequest) {
  const handle = await h.client.workflow.start('publishArtifact', {
    taskQueue: h.config.taskQueue,
    workflowId,
    args: [request],
  });
  for (let i = 0; i < 240; i++) {
    const progress = await handle.query<PublishProgress>('progress').catch(() => undefined);
    if (progress?.result) break;
    if (progress?.status === 'AwaitingApproval') {
      const approved = await call(
        `/api/v1/publishes/${encodeURIComponent(workflowId)}/approve`,
        tokens.carol,
        {
          reason: 'the requester is a verified CI identity',
        },
      );
      assert.ok([200, 403, 409].includes(approved.status), JSON.stringify(approved.body));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { handle, result: (await handle.result()) as PublishResult };
}

/** Denied with `code` before any step: archived as denied, and no activity but the admission and the denial ran. */
async function assertDeniedBeforeAnyStep(
  run: { handle: WorkflowHandle; result: PublishResult },
  code: string,
) {
  const { handle, result } = run;
  assert.equal(result.status, 'DENIED', `${result.code}: ${result.reason}`);
  assert.equal(result.code, code, result.reason);
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.status, 'denied', 'the denial is archived');
  assert.ok(decision.checks.some((c) => c.code === code));
  const ran = (await activityRuns(handle)).map((a) => a.name);
  for (const step of ['pinCandidate', 'collectEvidence', 'evaluatePolicy', 'recordDecision'])
    assert.equal(ran.includes(step), false, `${step} ran: ${ran.join(', ')}`);
}

test('a rejected run’s request seal replayed into a new run under the same workflow id is denied before any step', async () => {
  const { staging, digest } = await stageDemoImage(h);
  const release = staging.replace(/^staging\//, 'release/');
  await loadApprovalPolicy([staging], release);
  const first = await rejectedRun(staging, digest, release);

  // Attacker material: the first run's request, mallory's seal included, copied verbatim from
  // its recorded history and started as a second run under the same workflow id. Before: the
  // second run showed mallory as its verified requester and published on carol's approval.
  const replayed = await requestOfRun(first.workflowId, first.runId);
  assert.ok(replayed.requesterIdentity, 'the history holds mallory’s seal');
  const run = await attackRun(first.workflowId, replayed);
  assert.notEqual(run.handle.firstExecutionRunId, first.runId);
  await assertDeniedBeforeAnyStep(run, 'SEAL_MISMATCH');
  assert.deepEqual(await listTags(h.registryHost, release), [], 'nothing published');

  // A new run under the old id with a new credential is admitted and waits for approval.
  const { handle: fresh } = await api.requestPublish(tokens.mallory, {
    image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
    to: `${h.registryHost}/${release}`,
  });
  assert.equal(
    (await pollProgress(fresh, 'AwaitingApproval', { queryErrors: 'retry' }))?.status,
    'AwaitingApproval',
  );
  await fresh.terminate('test over');
});

test('a request seal moved to another tag, staging repository or inline attestations is denied before any step', async () => {
  const { staging, digest, envelope } = await stageDemoImage(h);
  // The same build (same bytes, same signed provenance) also in a second staging repository
  // the attacker can push to; the operator's rule covers both.
  const other = await stageDemoImage(h, `staging/${uniqueName('copy')}`, staging);
  assert.equal(other.digest, digest);
  const release = staging.replace(/^staging\//, 'release/');
  await loadApprovalPolicy([staging, other.staging], release);
  const first = await rejectedRun(staging, digest, release);
  const sealed = await requestOfRun(first.workflowId, first.runId);
  assert.ok(sealed.requesterIdentity);

  // Attacker material: the sealed request from the first run's history with one field changed
  // each time, started under the same workflow id. Before: each went on with mallory as its
  // verified requester, and carol's approval published it.
  const moved: Array<[string, PublishRequest]> = [
    ['another tag', { ...sealed, releaseTag: 'latest' }],
    [
      'another staging repository',
      { ...sealed, candidate: { ...sealed.candidate, repository: other.staging } },
    ],
    [
      'other inline attestations',
      { ...sealed, attestations: [{ origin: 'attacker', raw: Buffer.from(envelope).toString('base64') }] },
    ],
  ];
  for (const [what, request] of moved) {
    const run = await attackRun(first.workflowId, request);
    await assertDeniedBeforeAnyStep(run, 'SEAL_MISMATCH').catch((err: Error) => {
      throw new Error(`${what}: ${err.message}`);
    });
  }
  assert.deepEqual(await listTags(h.registryHost, release), [], 'nothing published');
});

test('a request seal older than its lifetime is denied before any step', async () => {
  const { staging, digest } = await stageDemoImage(h);
  const request = requestFor(h, staging, digest, {
    tag: 'v1.0.0',
    policy: { approvalRequired: true, twoPersonRule: true },
  });
  // Attacker material: a request seal made as the API makes it (the shared key, mallory's
  // verified token identity) with a clock one minute past its lifetime: a seal issued then and
  // never used. Before: the run pinned, fetched, verified and evaluated the candidate first,
  // and refused the seal only when it recorded the decision.
  const stale = h.sealRequest('mallory', request, new Date(Date.now() - (SEAL_LIFETIME_SECONDS + 60) * 1000));
  const handle = await h.start(stale);
  await assertDeniedBeforeAnyStep(
    { handle, result: (await handle.result()) as PublishResult },
    'IDENTITY_UNVERIFIED',
  );
  assert.deepEqual(await listTags(h.registryHost, request.releaseRepository), [], 'nothing published');
});

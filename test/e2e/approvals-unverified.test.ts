/**
 * Approvals that do not come through the API, end to end on the real services: a verdict
 * typed at the CLI while SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS is on (the demo's setting) is
 * archived and shown as unverified everywhere it is read; and an approval that races the
 * deadline while the worker is down loses (docs/security-model.md#how-a-run-ends).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { hashToken } from '../../src/api/api-tokens.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import type { PublishProgress, PublishResult } from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { runSlsaGate } from '../helpers/cli-process.ts';
import { assertNothingPublished } from '../helpers/publish-checks.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';
import { stageImage, startSharedCrashRig, type CrashRig } from '../helpers/worker-process.ts';

const auditorToken = randomBytes(32).toString('hex');
let h: PublishHarness;
let rig: CrashRig;
let api: ApiRig;

before(async () => {
  h = await startPublishHarness({}, { SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS: 'true' });
  rig = await startSharedCrashRig();
  api = await startApi(h, {
    tokens: [{ name: 'auditor', sha256: hashToken(auditorToken), scopes: ['audit:read'] }],
  });
});

after(async () => {
  await api?.close();
  await rig?.close();
  await h?.close();
});

/**
 * The CLI as an operator runs it, against the harness's Temporal namespace and archive
 * (asynchronously: the harness's worker runs in this process and must keep answering).
 */
function cli(...args: string[]) {
  return runSlsaGate(
    {
      ...process.env,
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_NAMESPACE: services.temporalNamespace,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_DB: h.config.database,
    },
    ...args,
  );
}

/** The progress once the publish awaits approval (generous: the machine may be loaded). */
async function awaitingApproval(handle: WorkflowHandle): Promise<PublishProgress> {
  for (let i = 0; i < 1200; i++) {
    const progress = await handle.query<PublishProgress>('progress').catch(() => undefined);
    if (progress?.status === 'AwaitingApproval') return progress;
    assert.equal(
      progress?.result,
      undefined,
      `the publish ended before awaiting approval: ${progress?.result?.code}`,
    );
    await sleep(500);
  }
  throw new Error('the publish never awaited approval');
}

async function readApi(path: string) {
  const res = await api.call(path, { token: auditorToken });
  assert.equal(res.status, 200, path);
  return res;
}

test('an approval typed at the CLI is archived verified:false and shown as unverified by status, audit show, the API and the web view', async () => {
  const staging = `staging/${uniqueName('typed')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const request = requestFor(h, staging, digest, { policy: { approvalRequired: true } });
  const handle = await h.start(request);
  await awaitingApproval(handle);

  // Attacker material: a name typed with `approve --approver`, spelled like the id the API
  // gives a verified token holder. Before, it was archived as `token:alice`, like her own approval.
  const approved = await cli('approve', handle.workflowId, '--approver', 'token:alice', '--reason', 'typed');
  assert.equal(approved.code, 0, approved.err);
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.approval?.verified, false);
  assert.equal(result.approval?.approver, 'unverified:token:alice');

  const [record] = await h.deps.archive.listApprovals(result.decisionId);
  assert.equal(record?.verified, false);
  assert.equal(record?.approver, 'unverified:token:alice');

  const status = await cli('status', handle.workflowId);
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /approved by unverified:token:alice \(UNVERIFIED: typed, not authenticated\)/);
  const shown = await cli('audit', 'show', result.decisionId);
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /unverified:token:alice\s+approve\s+UNVERIFIED/);

  const detail = (await (
    await readApi(`/api/v1/decisions/${encodeURIComponent(result.decisionId)}`)
  ).json()) as {
    approvals: Array<{ approver: string; verified: boolean }>;
  };
  assert.deepEqual(
    detail.approvals.map((a) => [a.approver, a.verified]),
    [['unverified:token:alice', false]],
  );
  // The approver filter for the verified id does not find the typed name.
  await api.exportReadModel();
  const byApprover = async (approver: string) =>
    (
      (await (await readApi(`/api/v1/decisions?approver=${encodeURIComponent(approver)}`)).json()) as {
        items: Array<{ _id: string }>;
      }
    ).items.map((d) => d._id);
  assert.deepEqual(await byApprover('token:alice'), []);
  assert.deepEqual(await byApprover('unverified:token:alice'), [result.decisionId]);
  const page = await (await readApi(`/decisions/${encodeURIComponent(result.decisionId)}`)).text();
  assert.match(
    page,
    /<td>unverified:token:alice<\/td>\s*<td>approve<\/td>\s*<td class="unverified">unverified<\/td>/,
  );
});

test('an approval sent after the deadline while the worker is down does not count: the run expires, nothing is published', async () => {
  const { staging, digest } = await stageImage(rig, 'race');
  const request = rig.request(staging, digest, {
    policy: { approvalRequired: true, approvalDeadline: 'PT90S' },
  });
  const worker = await rig.startWorker();
  const handle = await rig.start(request);
  const waiting = await awaitingApproval(handle);
  assert.ok(waiting.approvalDeadline, 'the publish has a deadline');
  await worker.kill('SIGKILL');
  assert.ok(Date.now() < Date.parse(waiting.approvalDeadline), 'the worker was stopped before the deadline');

  // Past the deadline by the wall clock, with no worker to run the timer that ends the wait.
  const late = Date.parse(waiting.approvalDeadline) + 2000 - Date.now();
  if (late > 0) await sleep(late);
  // Attacker material: a real approval (the rig's workers accept typed names), sent late.
  const outcome = handle
    .executeUpdate('approve', { args: [{ approver: 'release-manager', reason: 'after the deadline' }] })
    .catch((err: unknown) => err);
  await sleep(1000);
  await rig.startWorker();

  const answer = await outcome;
  assert.ok(
    answer instanceof WorkflowUpdateFailedError &&
      answer.cause instanceof ApplicationFailure &&
      answer.cause.type === 'APPROVAL_EXPIRED',
    `the late approval is refused APPROVAL_EXPIRED: ${String(answer)}`,
  );
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, 'APPROVAL_EXPIRED');
  await assertNothingPublished(rig.registry, request.releaseRepository, digest);
  const [decision] = await rig.archive.findDecisionsByDigest(digest);
  assert.equal(decision?.status, 'expired');
  assert.deepEqual(await rig.archive.listApprovals(decision!._id), []);
});

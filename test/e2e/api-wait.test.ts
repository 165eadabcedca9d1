/**
 * Waiting for a publish through the API (`GET /api/v1/publishes/<id>?wait=…[&since=…]`) on the
 * real services: a Temporal dev server with a real Worker, the registry and FerretDB. The wait
 * is Temporal's long poll on the run's history; the Worker counts every Query it handles
 * (test/helpers/query-count-interceptor.ts), so a wait that asks the worker is seen
 * (docs/security-model.md#waiting-for-a-publish). Temporal unreachable is a 503 with Retry-After.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { hashToken, TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { deadAddress } from '../helpers/ci-jobs.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const QUERY_COUNTER = new URL('../helpers/query-count-interceptor.ts', import.meta.url).pathname;
let h: PublishHarness;
let api: ApiRig;
/** Every Query the Worker handled: the workflow and the query's name. */
const handled: Array<{ workflowId: string; queryName: string }> = [];
const tokens = {
  ci: randomBytes(32).toString('hex'),
  bob: randomBytes(32).toString('hex'),
  auditor: randomBytes(32).toString('hex'),
};
const credentials = {
  tokens: [
    {
      name: 'ci',
      sha256: hashToken(tokens.ci),
      scopes: ['publish' as const],
      sources: ['github.com/example/app'],
    },
    { name: 'bob', sha256: hashToken(tokens.bob), scopes: ['approve' as const] },
    { name: 'auditor', sha256: hashToken(tokens.auditor), scopes: ['audit:read' as const] },
  ],
};

before(async () => {
  h = await startPublishHarness({}, {}, undefined, {
    workflowInterceptorModules: [QUERY_COUNTER],
    sinks: {
      queries: {
        handled: {
          fn: (_info, workflowId: string, queryName: string) => {
            handled.push({ workflowId, queryName });
          },
          callDuringReplay: true,
        },
      },
    },
  });
  api = await startApi(h, credentials);
});

after(async () => {
  await api?.close();
  await h?.close();
});

/** Queries a client asked of the worker for `workflowId` (the SDK's own `__…` ones aside). */
const queriesOf = (workflowId: string) =>
  handled.filter((q) => q.workflowId === workflowId && !q.queryName.startsWith('__'));

/** The body of a publish request for a fresh candidate under `policy`. */
async function publishBody(policy: NonNullable<Parameters<typeof requestFor>[3]>['policy'] = {}) {
  const staging = `staging/${uniqueName('wait')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  requestFor(h, staging, digest, { policy });
  await h.loadPolicy(h.policies.get(digest)!);
  const to = `${h.registryHost}/release/${staging.slice('staging/'.length)}`;
  return { image: `${h.registryHost}/${staging}:v1.0.0@${digest}`, to };
}

async function requestPublish(policy: NonNullable<Parameters<typeof requestFor>[3]>['policy'] = {}) {
  const { workflowId } = await api.requestPublish(tokens.ci, await publishBody(policy));
  return `/api/v1/publishes/${encodeURIComponent(workflowId)}`;
}

interface Progress {
  workflowId: string;
  status: string;
  outcome?: string;
  checks: Array<{ id: string; result: string }>;
  decisionId?: string;
  approvalDeadline?: string;
  approvals?: { required: number; given: Array<{ approver: string }> };
  result?: { status: string; decisionId: string; approval?: { approver: string } };
}

async function progressAt(path: string): Promise<Progress> {
  const res = await api.call(path, { token: tokens.auditor });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as Progress;
}

test('a waiting request answers the verdict once the run completes, and the worker answered no Query for it', async () => {
  const path = await requestPublish();
  const workflowId = decodeURIComponent(path.slice('/api/v1/publishes/'.length));
  // Longer than the 60 s today's API allowed: a pipeline needs no loop of its own.
  const done = await progressAt(`${path}?wait=900`);
  assert.equal(done.status, 'Published');
  assert.equal(done.result?.status, 'PUBLISHED');
  assert.equal(done.checks.find((c) => c.id === 'builder')?.result, 'PASS');
  // Before: the API asked the worker's `progress` Query every 0.5 s while the run went on.
  assert.deepEqual(queriesOf(workflowId), []);

  // The counter sees a Query when one is made: the assertion above can fail.
  await h.client.workflow.getHandle(workflowId).query('progress');
  assert.deepEqual(queriesOf(workflowId), [{ workflowId, queryName: 'progress' }]);
});

test('awaiting approval: a wait with `since` answers AwaitingApproval with the deadline and checks, one without keeps waiting to the verdict', async () => {
  const path = await requestPublish({ approvalRequired: true });
  const workflowId = decodeURIComponent(path.slice('/api/v1/publishes/'.length));
  // A pipeline's one call: it waits through the approval to the verdict (docs/ci.md).
  const verdict = progressAt(`${path}?wait=900`);

  // The CI client's calls: each waits until the status is no longer the one it last saw.
  let progress = await progressAt(path);
  const seen = [progress.status];
  while (progress.status !== 'AwaitingApproval' && !progress.result) {
    const since = progress.status;
    progress = await progressAt(`${path}?wait=900&since=${since}`);
    assert.notEqual(progress.status, since, 'a wait with `since` answers a new status');
    seen.push(progress.status);
  }
  assert.equal(progress.status, 'AwaitingApproval', `statuses seen: ${seen.join(', ')}`);
  assert.equal(progress.outcome, 'NEEDS_APPROVAL');
  assert.ok(progress.approvalDeadline && Date.parse(progress.approvalDeadline) > Date.now());
  assert.deepEqual(progress.approvals, { required: 1, given: [] });
  assert.equal(progress.checks.find((c) => c.id === 'builder')?.result, 'PASS');
  assert.equal(
    progress.decisionId,
    `${workflowId}/${(await h.client.workflow.getHandle(workflowId).describe()).runId}`,
  );

  // The verdict is sealed with the request digest the run put in its memo: the run accepts it.
  const approved = await api.call(`${path}/approve`, {
    method: 'POST',
    token: tokens.bob,
    body: { reason: 'reviewed' },
  });
  assert.equal(approved.status, 200, await approved.clone().text());
  const published = await progressAt(`${path}?wait=900&since=AwaitingApproval`);
  assert.ok(['Publishing', 'Published'].includes(published.status), published.status);

  const answered = await verdict;
  assert.equal(answered.status, 'Published');
  assert.equal(answered.result?.status, 'PUBLISHED');
  assert.equal(answered.result?.approval?.approver, 'token:bob');
  // Before: every wait and the approval asked the worker's `progress` Query.
  assert.deepEqual(queriesOf(workflowId), []);
});

test('Temporal unreachable: the progress and the start routes answer 503 with Retry-After, never 500', async () => {
  // An API whose Temporal address is a port nothing listens on (a server down or unreachable).
  const address = new URL(await deadAddress()).host;
  const connection = Connection.lazy({ address });
  const server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier(credentials),
    publish: {
      client: new Client({ connection, namespace: h.config.temporalNamespace }),
      taskQueue: h.config.taskQueue,
      identityKey: h.identityKey,
      archive: h.deps.archive,
      // Longer than the client's own retries of an unreachable server: their failure is what is answered.
      temporalTimeoutMs: 120_000,
    },
    log: () => {},
  });
  const base = (await listenApi(server, 0)).url;
  try {
    const progress = await fetch(`${base}/api/v1/publishes/${encodeURIComponent('publish:nowhere')}?wait=5`, {
      headers: { Authorization: `Bearer ${tokens.auditor}` },
    });
    const text = await progress.text();
    // Before: 500 INTERNAL_ERROR once the client gave up on the unreachable server.
    assert.equal(progress.status, 503, text);
    assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'TEMPORAL_UNAVAILABLE');
    assert.match(progress.headers.get('retry-after') ?? '', /^\d+$/);

    const staging = `staging/${uniqueName('down')}`;
    const { digest } = await buildAndAttest(h.registry, staging, {
      tag: 'v1.0.0',
      seed: staging,
      key: h.builderKey,
    });
    const start = await fetch(`${base}/api/v1/publishes`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.ci}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
        to: `${h.registryHost}/release/${staging.slice('staging/'.length)}`,
      }),
    });
    const startText = await start.text();
    assert.equal(start.status, 503, startText);
    assert.equal((JSON.parse(startText) as { error: { code: string } }).error.code, 'TEMPORAL_UNAVAILABLE');
    assert.match(start.headers.get('retry-after') ?? '', /^\d+$/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close();
  }
});

test('waiters holding every request slot do not turn away the approval that ends their wait', async () => {
  const path = await requestPublish({ approvalRequired: true });
  let progress = await progressAt(path);
  while (progress.status !== 'AwaitingApproval' && !progress.result)
    progress = await progressAt(`${path}?wait=900&since=${progress.status}`);
  assert.equal(progress.status, 'AwaitingApproval');

  // An API with one slot for authenticated requests; the waiting call is what a pipeline (or
  // anyone with a token) sends: real material, nothing forged.
  const server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier(credentials),
    publish: {
      client: h.client,
      taskQueue: h.config.taskQueue,
      identityKey: h.identityKey,
      archive: h.deps.archive,
    },
    admission: { authenticated: 1 },
    log: () => {},
  });
  const base = (await listenApi(server, 0)).url;
  try {
    // The waiter's request has been received and admitted (authentication needs no I/O here)
    // once the server saw it and the pending callbacks ran.
    const received = new Promise<void>((resolve) => server.once('request', () => resolve()));
    const waiting = fetch(`${base}${path}?wait=900`, {
      headers: { Authorization: `Bearer ${tokens.auditor}` },
    });
    // Settled below; kept from being an unhandled rejection if an assertion ends the test first.
    waiting.catch(() => {});
    await received;
    await new Promise((resolve) => setImmediate(resolve));

    // Before: 503 BUSY while the wait held the only slot, until the deadline expired the approval.
    const approved = await fetch(`${base}${path}/approve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.bob}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'reviewed' }),
    });
    assert.equal(approved.status, 200, await approved.text());
    const answered = await waiting;
    const text = await answered.text();
    assert.equal(answered.status, 200, text);
    assert.equal((JSON.parse(text) as Progress).result?.status, 'PUBLISHED');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a wait answers the verdict of the run it waited on, not of a run started under the same id after it', async () => {
  const body = await publishBody({ approvalRequired: true });
  const { workflowId } = await api.requestPublish(tokens.ci, body);
  const path = `/api/v1/publishes/${encodeURIComponent(workflowId)}`;
  let progress = await progressAt(path);
  while (progress.status !== 'AwaitingApproval' && !progress.result)
    progress = await progressAt(`${path}?wait=900&since=${progress.status}`);
  assert.equal(progress.status, 'AwaitingApproval');
  const firstRun = (await h.client.workflow.getHandle(workflowId).describe()).runId;

  // The API's reads after the wait are held until the test has started a second run: the gap
  // between the first run's end and the API reading it, which a racing requester aims at.
  let reads = 0;
  let reachedGap!: () => void;
  const gap = new Promise<void>((resolve) => (reachedGap = resolve));
  let closeGap!: () => void;
  const closed = new Promise<void>((resolve) => (closeGap = resolve));
  const client = new Client({
    connection: h.client.connection,
    namespace: h.config.temporalNamespace,
    interceptors: {
      workflow: [
        {
          async describe(input, next) {
            reads += 1;
            if (reads === 2) {
              reachedGap();
              await closed;
            }
            return next(input);
          },
        },
      ],
    },
  });
  const server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier(credentials),
    publish: { client, taskQueue: h.config.taskQueue, identityKey: h.identityKey, archive: h.deps.archive },
    log: () => {},
  });
  const base = (await listenApi(server, 0)).url;
  try {
    // The requester's pipeline waits for the verdict on its request.
    const waiting = fetch(`${base}${path}?wait=900`, { headers: { Authorization: `Bearer ${tokens.ci}` } });
    waiting.catch(() => {});
    const rejected = await api.call(`${path}/reject`, {
      method: 'POST',
      token: tokens.bob,
      body: { reason: 'not this one' },
    });
    assert.equal(rejected.status, 200, await rejected.clone().text());
    await gap;
    // Attacker material: another pipeline asks for the same candidate and destination once the
    // first run has ended, which starts a new run under the same workflow id.
    const again = await api.requestPublish(tokens.ci, body);
    assert.equal(again.workflowId, workflowId);
    assert.notEqual(again.runId, firstRun);
    closeGap();

    const answered = await waiting;
    const text = await answered.text();
    assert.equal(answered.status, 200, text);
    const verdict = JSON.parse(text) as Progress;
    // Before: the second run's progress (no result yet), which the pipeline then followed.
    assert.equal(verdict.result?.status, 'DENIED', text);
    assert.equal(verdict.decisionId, `${workflowId}/${firstRun}`);
  } finally {
    closeGap();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

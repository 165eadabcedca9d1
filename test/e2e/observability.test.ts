/**
 * Observability of a real worker (`slsa-gate worker`, as operators run it) against the real
 * Temporal server, registry and store: after a publish, a denial and a publish left awaiting
 * approval, its `/metrics` has every series of docs/operations.md#metrics with the counts and
 * labels of what it did, the Temporal SDK's own endpoint answers, each step is one JSON log
 * line, each run is one trace at a loopback OTLP/HTTP receiver, and the archived decisions
 * carry the steps' durations.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { type Archive, databaseOf, openArchive } from '../../src/archive/archive.ts';
import { buildAndAttest, createBuilderKey, demoPolicy, demoTrustMap } from '../../src/demo/demo-builder.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { ensureDevSigningKey } from '../../src/signing/signing-key.ts';
import { publishWorkflowId, type PublishRequest, type PublishResult } from '../../src/workflows/contract.ts';
import { freePort, startGateWorker, type GateWorker } from '../helpers/gate-worker.ts';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { parseExposition, type Exposition } from '../helpers/prometheus-text.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { ensureServices, services, uniqueName } from '../helpers/services.ts';

const cli = fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url));
const registryHost = new URL(services.registryUrl).host;
const database = uniqueName('observe').replace(/[^a-zA-Z0-9_-]/g, '_');
const taskQueue = uniqueName('observe');
const repos = {
  app: `staging/${uniqueName('observe-app')}`,
  evil: `staging/${uniqueName('observe-evil')}`,
  gated: `staging/${uniqueName('observe-gated')}`,
};
const release = (staging: string) => staging.replace('staging/', 'release/');
/** The steps of a publish archived with its decision, then with its publication (markPublished records them). */
const STEPS_TO_DECISION = [
  'admitRequest',
  'denyIfRevoked',
  'findPublished',
  'pinCandidate',
  'collectEvidence',
  'resolveLevels',
  'evaluatePolicy',
];
const STEPS_AFTER_DECISION = ['denyIfRevoked', 'publishImage', 'attachVsa'];

let worker: GateWorker;
let archive: Archive;
let connection: Connection;
let client: Client;
let metricsUrl: string;
let temporalMetricsUrl: string;
const runs: Record<'app' | 'evil' | 'gated', { handle: WorkflowHandle; digest: string }> = {} as never;
let results: { app: PublishResult; evil: PublishResult };
let scraped: Exposition;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;

function requestFor(staging: string, digest: string): PublishRequest {
  return {
    candidate: {
      registry: registryHost,
      repository: staging,
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      tag: 'v1.0.0',
    },
    releaseRegistry: registryHost,
    releaseRepository: release(staging),
    requester: 'ci-bot',
    attestations: [],
  };
}

async function start(staging: string, digest: string): Promise<WorkflowHandle> {
  const request = requestFor(staging, digest);
  return client.workflow.start('publishArtifact', {
    taskQueue,
    workflowId: publishWorkflowId(request.releaseRegistry, request.releaseRepository, digest),
    args: [request],
  });
}

before(async () => {
  ensureServices();
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-observe-'));
  const key = createBuilderKey();
  writeFileSync(join(dir, 'builder.pub'), key.publicKeyPem);
  writeFileSync(join(dir, 'trust-map.json'), JSON.stringify(demoTrustMap(key.keyId)));
  const open = JSON.parse(demoPolicy([`${registryHost}/${repos.app}`, `${registryHost}/${repos.evil}`]));
  const gated = JSON.parse(demoPolicy([`${registryHost}/${repos.gated}`], { approvalRequired: true }));
  writeFileSync(
    join(dir, 'policy.json'),
    JSON.stringify({ ...open, rules: [...open.rules, { ...gated.rules[0], name: 'gated' }] }),
  );
  const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });
  const app = await buildAndAttest(registry, repos.app, { tag: 'v1.0.0', seed: repos.app, key });
  // Attacker material: provenance signed with the trusted key, naming a builder the trust map
  // does not list (a signer who owns a key but not the builder).
  const evil = await buildAndAttest(registry, repos.evil, {
    tag: 'v1.0.0',
    seed: repos.evil,
    key,
    provenance: { builderId: 'https://evil.example/builder@v1' },
  });
  const gatedImage = await buildAndAttest(registry, repos.gated, { tag: 'v1.0.0', seed: repos.gated, key });

  const temporalMetricsPort = await freePort();
  receiver = await startOtlpReceiver();
  worker = startGateWorker({
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: database,
    SLSA_GATE_TASK_QUEUE: taskQueue,
    SLSA_GATE_POLICY: join(dir, 'policy.json'),
    SLSA_GATE_TRUST_MAP: join(dir, 'trust-map.json'),
    SLSA_GATE_PUBLIC_KEYS: `${key.keyId}=${join(dir, 'builder.pub')}`,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa-key.pem')),
    SLSA_GATE_INSECURE_REGISTRIES: registryHost,
    SLSA_GATE_METRICS_LISTEN: '127.0.0.1:0',
    SLSA_GATE_TEMPORAL_METRICS_LISTEN: `127.0.0.1:${temporalMetricsPort}`,
    SLSA_GATE_TRACES_ENDPOINT: receiver.url,
  });
  metricsUrl = (await worker.waitForStderr(/metrics on http:\/\/\S+/)).replace(/^.*metrics on /, '');
  temporalMetricsUrl = `http://127.0.0.1:${temporalMetricsPort}/metrics`;
  archive = await openArchive(services.mongoUri, database);
  connection = await Connection.connect({ address: services.temporalAddress });
  client = new Client({ connection, namespace: services.temporalNamespace });

  runs.app = { handle: await start(repos.app, app.digest), digest: app.digest };
  runs.evil = { handle: await start(repos.evil, evil.digest), digest: evil.digest };
  runs.gated = { handle: await start(repos.gated, gatedImage.digest), digest: gatedImage.digest };
  results = {
    app: (await runs.app.handle.result()) as PublishResult,
    evil: (await runs.evil.handle.result()) as PublishResult,
  };
  const waiting = await pollProgress(runs.gated.handle, 'AwaitingApproval', { queryErrors: 'retry' });
  assert.equal(waiting?.status, 'AwaitingApproval');
  const response = await fetch(metricsUrl);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  scraped = parseExposition(await response.text());
});

after(async () => {
  await runs.gated?.handle.cancel().catch(() => {});
  await runs.gated?.handle.result().catch(() => {});
  await worker?.stop();
  await receiver?.close();
  await connection?.close();
  if (archive) {
    await databaseOf(archive).dropDatabase();
    await archive.close();
  }
});

test('the runs behaved: one published, one denied BUILDER_UNTRUSTED, one awaiting approval', () => {
  assert.equal(results.app.status, 'PUBLISHED');
  assert.equal(results.evil.status, 'DENIED');
  assert.equal(results.evil.code, 'BUILDER_UNTRUSTED');
});

test('/metrics: every listed series, with HELP and TYPE', () => {
  const families: Record<string, string> = {
    slsa_gate_decisions_total: 'counter',
    slsa_gate_publish_step_duration_seconds: 'histogram',
    slsa_gate_publish_duration_seconds: 'histogram',
    slsa_gate_verification_duration_seconds: 'histogram',
    slsa_gate_attestor_lookups_total: 'counter',
    slsa_gate_attestor_cache_hits_total: 'counter',
    slsa_gate_approvals_waiting: 'gauge',
    slsa_gate_approvals_oldest_wait_seconds: 'gauge',
  };
  for (const [name, type] of Object.entries(families)) {
    assert.equal(scraped.types.get(name), type, name);
    assert.ok(scraped.helps.get(name), `${name} has a HELP line`);
  }
});

test('/metrics: decisions by outcome and failing code, as archived', () => {
  assert.equal(scraped.value('slsa_gate_decisions_total', { outcome: 'PASSED', code: '' }), 1);
  assert.equal(
    scraped.value('slsa_gate_decisions_total', { outcome: 'FAILED', code: 'BUILDER_UNTRUSTED' }),
    1,
  );
  assert.equal(scraped.value('slsa_gate_decisions_total', { outcome: 'NEEDS_APPROVAL', code: '' }), 1);
  assert.equal(scraped.find('slsa_gate_decisions_total').length, 3);
});

test('/metrics: step latency by step and outcome, publish latency by status, verification latency', () => {
  const steps = (step: string) =>
    scraped.value('slsa_gate_publish_step_duration_seconds_count', { step, outcome: 'ok' });
  // Every run pins, fetches, resolves levels, evaluates and records; one copies and signs.
  for (const step of ['admitRequest', 'findPublished', 'pinCandidate', 'collectEvidence', 'resolveLevels'])
    assert.equal(steps(step), 3, step);
  assert.equal(steps('evaluatePolicy'), 3);
  // Revocations are checked first, and again before the copy.
  assert.equal(steps('denyIfRevoked'), 4);
  assert.equal(steps('recordDecision'), 3);
  assert.equal(steps('publishImage'), 1);
  assert.equal(steps('attachVsa'), 1);
  assert.equal(steps('markPublished'), 1);
  assert.equal(scraped.value('slsa_gate_publish_duration_seconds_count', { status: 'PUBLISHED' }), 1);
  assert.equal(scraped.value('slsa_gate_publish_duration_seconds_count', { status: 'DENIED' }), 1);
  assert.ok(scraped.value('slsa_gate_publish_duration_seconds_sum', { status: 'PUBLISHED' })! > 0);
  for (const outcome of ['PASSED', 'FAILED', 'NEEDS_APPROVAL'])
    assert.equal(scraped.value('slsa_gate_verification_duration_seconds_count', { outcome }), 1, outcome);
  assert.ok(scraped.value('slsa_gate_verification_duration_seconds_sum', { outcome: 'PASSED' })! > 0);
});

test('/metrics: the archive attestor is asked on every run, never answered from the level cache', () => {
  // The three images share their source revision. The archive attestor's answers are not
  // cached, so a revocation counts from the next resolution on (docs/security-model.md):
  // each run asks it again and the level cache never answers for it.
  const lookups = scraped.find('slsa_gate_attestor_lookups_total');
  assert.ok(
    lookups.length > 0 && lookups.every((s) => s.labels.attestor === 'archive'),
    JSON.stringify(lookups),
  );
  assert.ok(
    scraped.value('slsa_gate_attestor_lookups_total', { attestor: 'archive', result: 'not-found' })! >= 3,
    JSON.stringify(lookups),
  );
  assert.equal(
    scraped.value('slsa_gate_attestor_cache_hits_total', { attestor: 'archive' }) ?? 0,
    0,
    JSON.stringify(scraped.find('slsa_gate_attestor_cache_hits_total')),
  );
});

test('/metrics: approvals waiting and the age of the oldest, from the archive', () => {
  assert.equal(scraped.value('slsa_gate_approvals_waiting'), 1);
  const age = scraped.value('slsa_gate_approvals_oldest_wait_seconds')!;
  assert.ok(age >= 0 && age < 3600, String(age));
});

test("the Temporal SDK's runtime metrics are served on their own address", async () => {
  const response = await fetch(temporalMetricsUrl);
  assert.equal(response.status, 200);
  const core = parseExposition(await response.text());
  const names = [...core.types.keys()];
  assert.ok(names.length > 0 && names.every((n) => n.startsWith('temporal_')), names.join(' '));
  const completed = core.find('temporal_workflow_completed_total', { task_queue: taskQueue });
  assert.equal(
    completed.reduce((sum, s) => sum + s.value, 0),
    2,
    'the published and the denied run completed on this worker',
  );
});

test('the worker logs one JSON line per step, with workflow id, run id, digest, outcome and duration', async () => {
  const lines = worker.stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
  const stepsOf = async (run: { handle: WorkflowHandle; digest: string }) => {
    const { runId } = await run.handle.describe();
    return lines.filter(
      (l) => l.msg === 'publish step' && l.workflowId === run.handle.workflowId && l.runId === runId,
    );
  };
  const published = await stepsOf(runs.app);
  assert.deepEqual(
    published.map((l) => l.step),
    [...STEPS_TO_DECISION, 'recordDecision', ...STEPS_AFTER_DECISION, 'markPublished'],
  );
  for (const line of published) {
    assert.equal(line.digest, runs.app.digest);
    assert.equal(line.outcome, 'ok');
    assert.equal(line.level, 'INFO');
    assert.ok(typeof line.durationMs === 'number' && line.durationMs >= 0);
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
  }
  const denied = await stepsOf(runs.evil);
  assert.ok(denied.length >= 7 && denied.every((l) => l.digest === runs.evil.digest));
  const ended = lines.find((l) => l.msg === 'publish ended' && l.workflowId === runs.evil.handle.workflowId);
  assert.equal(ended?.status, 'DENIED');
  assert.equal(ended?.code, 'BUILDER_UNTRUSTED');
});

test('the archived decisions hold the durations of their steps', async () => {
  const decision = await archive.getDecision(results.app.decisionId);
  assert.ok(decision);
  assert.deepEqual(Object.keys(decision.timings), STEPS_TO_DECISION);
  for (const ms of Object.values(decision.timings)) assert.ok(ms >= 0);
  assert.deepEqual(Object.keys(decision.published?.timings ?? {}), STEPS_AFTER_DECISION);
  const denial = await archive.getDecision(results.evil.decisionId);
  assert.ok(denial && Object.keys(denial.timings).includes('evaluatePolicy'));
});

test('audit show prints the step timings', () => {
  const out = execFileSync(
    process.execPath,
    [cli, 'audit', 'show', results.app.decisionId, '--mongodb-uri', services.mongoUri, '--db', database],
    { encoding: 'utf8' },
  );
  const line = out.split('\n').find((l) => l.startsWith('Timings'));
  assert.match(
    line ?? '',
    /^Timings +admitRequest \d+ ms, .*evaluatePolicy \d+ ms; after the decision: denyIfRevoked \d+ ms, publishImage \d+ ms, attachVsa \d+ ms$/,
  );
});

/** The spans of one run, once its root span has arrived (the worker exports every 2 s). */
async function traceOf(run: {
  handle: WorkflowHandle;
}): Promise<{ root: ReceivedSpan; spans: ReceivedSpan[] }> {
  const { runId } = await run.handle.describe();
  for (let i = 0; i < 600; i++) {
    const root = receiver.spans.find(
      (s) => s.name === 'publish' && s.attributes['temporal.run_id'] === runId,
    );
    if (root) return { root, spans: receiver.spans.filter((s) => s.traceId === root.traceId && s !== root) };
    await sleep(100);
  }
  throw new Error(`no root span for run ${runId}; received ${receiver.spans.length} spans`);
}

test('traces: each run is one trace at the OTLP/HTTP endpoint, its steps and activity attempts under its root', async () => {
  const { root, spans } = await traceOf(runs.app);
  assert.deepEqual(receiver.refused, []);
  assert.equal(root.service, 'slsa-gate-worker');
  assert.match(root.traceId, /^[0-9a-f]{32}$/);
  assert.match(root.spanId, /^[0-9a-f]{16}$/);
  assert.equal(root.parentSpanId, undefined);
  assert.equal(root.attributes['slsa_gate.status'], 'PUBLISHED');
  assert.equal(root.attributes['slsa_gate.digest'], runs.app.digest);
  assert.equal(root.attributes['temporal.workflow_id'], runs.app.handle.workflowId);
  const steps = spans.filter((s) => !s.name.startsWith('activity '));
  assert.deepEqual(
    steps.map((s) => s.name),
    [...STEPS_TO_DECISION, 'recordDecision', ...STEPS_AFTER_DECISION, 'markPublished'],
  );
  const activities = spans.filter((s) => s.name.startsWith('activity '));
  for (const name of ['pinCandidate', 'collectEvidence', 'evaluatePolicy', 'publishImage', 'attachVsa'])
    assert.ok(
      activities.some((s) => s.name === `activity ${name}` && s.attributes['temporal.attempt'] === 1),
      name,
    );
  for (const span of spans) {
    assert.equal(span.parentSpanId, root.spanId, span.name);
    assert.equal(span.status.code, 1, span.name);
    assert.ok(BigInt(span.startTimeUnixNano) <= BigInt(span.endTimeUnixNano), span.name);
    assert.ok(BigInt(root.startTimeUnixNano) <= BigInt(span.startTimeUnixNano), span.name);
  }
  const denied = await traceOf(runs.evil);
  assert.notEqual(denied.root.traceId, root.traceId);
  assert.equal(denied.root.attributes['slsa_gate.status'], 'DENIED');
  assert.equal(denied.root.attributes['slsa_gate.code'], 'BUILDER_UNTRUSTED');
});

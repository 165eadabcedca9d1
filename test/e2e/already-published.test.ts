/**
 * One publish per (destination, digest, tag), tagged or untagged: asking again through the CLI
 * or the API answers with the first decision, read from the archive's `publications` record,
 * and starts no Temporal run (the key is `publicationOf`, shared with the workflow's own check).
 * Real Temporal dev server and Worker, registry, FerretDB, and the API on loopback.
 *
 * Material: images made and signed by the demo builder and published once through the gate;
 * the second request is the same request again, as a CI job re-run would send it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { hashToken } from '../../src/api/api-tokens.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { publishWorkflowId, type PublishProgress, type PublishResult } from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { runCli } from '../helpers/cli-process.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

const token = randomBytes(32).toString('hex');
let h: PublishHarness;
let api: ApiRig;
let env: Record<string, string>;

before(async () => {
  h = await startPublishHarness();
  api = await startApi(h, {
    tokens: [
      { name: 'ci', sha256: hashToken(token), scopes: ['publish'], sources: ['github.com/example/app'] },
    ],
  });
  env = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: h.config.database,
    SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
    SLSA_GATE_INSECURE_REGISTRIES: h.registryHost,
  };
});
after(async () => {
  await api?.close();
  await h?.close();
});

/** An image published once through the gate, tagged v1.0.0 or untagged; returns its run and decision. */
async function publishedOnce(tagged: boolean) {
  const staging = `staging/${uniqueName('again')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const request = requestFor(h, staging, digest, tagged ? { tag: 'v1.0.0' } : {});
  const handle = await h.start(request);
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.published?.reference.includes(':v1.0.0@'), tagged);
  const workflowId = publishWorkflowId(h.registryHost, request.releaseRepository, digest);
  return {
    staging,
    digest,
    to: `${h.registryHost}/${request.releaseRepository}`,
    workflowId,
    runId: (await handle.describe()).runId,
    decisionId: result.decisionId,
  };
}

/** No run besides the first: the latest run is still it, and visibility lists one run of the id. */
async function assertNoSecondRun(first: { workflowId: string; runId: string }) {
  const described = await h.client.workflow.getHandle(first.workflowId).describe();
  assert.equal(described.runId, first.runId, 'the latest run of the workflow id is the first one');
  const runs: string[] = [];
  for await (const run of h.client.workflow.list({ query: `WorkflowId = '${first.workflowId}'` }))
    runs.push(run.runId);
  assert.deepEqual(runs, [first.runId]);
}

for (const tagged of [true, false]) {
  const kind = tagged ? 'tagged' : 'untagged';
  test(`the CLI's publish of an already published ${kind} image answers the first decision and starts no run`, async () => {
    const first = await publishedOnce(tagged);
    const image = `${h.registryHost}/${first.staging}${tagged ? ':v1.0.0' : ''}@${first.digest}`;
    const run = await runCli(['publish', '--image', image, '--to', first.to, '--json'], { env });
    assert.equal(run.exit, 0, run.stdout + run.stderr);
    const answer = JSON.parse(run.stdout) as PublishProgress;
    assert.equal(answer.result?.status, 'PUBLISHED');
    assert.equal(answer.result?.alreadyPublished, true);
    assert.equal(answer.result?.decisionId, first.decisionId);
    // Before: the CLI started a second run under the same workflow id, which found the
    // publication itself: the same answer, and a run the operator has to explain.
    await assertNoSecondRun(first);
  });
}

test('the API answers an already published untagged image with the first decision and starts no run', async () => {
  const first = await publishedOnce(false);
  const res = await api.call('/api/v1/publishes', {
    method: 'POST',
    token,
    body: { image: `${h.registryHost}/${first.staging}@${first.digest}`, to: first.to },
  });
  const body = (await res.json()) as { alreadyPublished?: boolean; decisionId?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.alreadyPublished, true);
  assert.equal(body.decisionId, first.decisionId);
  await assertNoSecondRun(first);
});

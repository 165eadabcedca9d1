/**
 * An activity error that carries no code (a library's surprise, a bug) becomes a coded,
 * bounded failure at the activity boundary (src/activities/failures.ts): the publish is denied
 * INTERNAL_ERROR after one attempt, the denial is archived, and what the result, the archive
 * and the workflow history say about it is one short line, never the error's text or stack.
 * Real Temporal dev server, Worker, registry and FerretDB.
 *
 * Fault material: the worker's attestor lookup (ActivityDeps.resolveLevels, the collaborator
 * behind resolveLevelChunk) throws a TypeError whose message is 100 KB over 2,000 lines, the
 * shape of a library error that quotes a response body, with terminal escape sequences in it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import type { PublishResult } from '../../src/workflows/contract.ts';
import { assertNothingPublished } from '../helpers/publish-checks.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import { runsOf } from '../helpers/workflow-history.ts';

const LINE = `\u001b[31mupstream said:\u001b[0m ${'x'.repeat(40)}`;
const HUGE = Array.from({ length: 2000 }, (_, i) => `${LINE} line-${i}`).join('\n');

let h: PublishHarness;
before(async () => {
  h = await startPublishHarness({
    resolveLevels: async () => {
      throw new TypeError(HUGE);
    },
  });
});
after(async () => {
  await h?.close();
});

test('an uncoded activity error denies the publish INTERNAL_ERROR after one attempt, bounded, archived', async () => {
  const staging = `staging/${uniqueName('uncoded')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const request = requestFor(h, staging, digest, { tag: 'v1.0.0' });
  const handle = await h.start(request);
  // Before: the error crossed the boundary as it was, retryable, and the activity was retried
  // without end (the run never closed).
  const result = (await Promise.race([
    handle.result(),
    sleep(120_000).then(() => assert.fail('the uncoded error is retried instead of denied')),
  ])) as PublishResult;
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, 'INTERNAL_ERROR');
  assert.match(result.reason, /^TypeError: /);
  assert.ok(result.reason.length < 500, `bounded: ${result.reason.length} characters`);
  assert.doesNotMatch(result.reason, /[\n\u001b]/, 'one line, no terminal escapes');

  const runs = await runsOf(handle, 'resolveLevelChunk');
  assert.ok(runs.length >= 1);
  for (const run of runs) {
    assert.equal(run.attempt, 1, 'not retried');
    assert.equal(run.failureType, 'INTERNAL_ERROR');
  }
  // The history keeps the bounded message only: not the error's later lines, not its stack
  // (which names this file, where the TypeError was made).
  const history = JSON.stringify((await handle.fetchHistory()).events);
  assert.ok(!history.includes('line-1999'), 'the last line of the error is not in the history');
  assert.ok(!history.includes('uncoded-failure.test.ts'), 'no stack of the original error');

  const [decision] = await h.deps.archive.findDecisionsByDigest(digest);
  assert.equal(decision?._id, result.decisionId);
  assert.equal(decision?.status, 'denied');
  assert.ok(decision?.checks.some((c) => c.result === 'FAIL' && c.code === 'INTERNAL_ERROR'));
  await assertNothingPublished(h.registry, request.releaseRepository, digest);
});

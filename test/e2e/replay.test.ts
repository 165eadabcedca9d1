/**
 * docs/checklist.md#row-34: the histories recorded by scripts/record-histories.ts replay on the
 * current workflow code without a nondeterminism error. A workflow change that fails here
 * must be versioned (patched()) or the deploy is blocked; re-record only for a deliberate,
 * compatible change. Run alone with `npm run test:replay`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeterminismViolationError } from '@temporalio/workflow';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type ReplayResult,
} from '@temporalio/worker';
import { publishStepSinks } from '../../src/workers/publish-step-sinks.ts';
import { historyFromJson } from '../helpers/history-json.ts';

const historiesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));
const divergentPath = fileURLToPath(new URL('../helpers/divergent-workflow.ts', import.meta.url));

// The negative case's expected nondeterminism is logged by the core as a warning: keep errors only.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
});

const files = readdirSync(historiesDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const histories = () =>
  files.map((file) => ({
    workflowId: file,
    history: historyFromJson(readFileSync(join(historiesDir, file), 'utf8')),
  }));

async function replay(path: string): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowsPath: path, sinks: publishStepSinks({ logger: Runtime.instance().logger }) },
    histories(),
  )) {
    results.push(result);
  }
  return results;
}

test('the recorded histories cover pass, denials, approve, reject and a wait for attestations', () => {
  for (const name of [
    'published',
    'denied-builder-untrusted',
    'denied-candidate-missing',
    'approved',
    'rejected',
  ]) {
    assert.ok(files.includes(`${name}.json`), `${name}.json is recorded`);
  }
});

test('every recorded history replays on the current workflow code', async () => {
  const results = await replay(workflowsPath);
  assert.deepEqual(
    results.map((r) => r.workflowId),
    files,
  );
  for (const r of results) {
    assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.name}: ${r.error?.message}`);
  }
});

test('a workflow that diverges from the histories fails the replay with a determinism violation', async () => {
  const results = await replay(divergentPath);
  assert.equal(results.length, files.length);
  for (const r of results) {
    assert.ok(
      r.error instanceof DeterminismViolationError,
      `${r.workflowId}: ${r.error?.name ?? 'replayed'}`,
    );
  }
});

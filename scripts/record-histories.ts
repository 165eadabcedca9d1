/**
 * Records workflow histories for the replay test (CHECKLIST row 34): runs real publishes
 * (passed, denied by policy, denied by a pipeline failure, approved, rejected) on a real
 * Worker against the local services, and writes each history as JSON to
 * test/fixtures/histories/<name>.json (format: test/helpers/history-json.ts).
 *
 * Usage: node --import tsx scripts/record-histories.ts [--out DIR]   (services up: npm run services:up)
 * --out writes elsewhere, e.g. to check the script without replacing the committed fixtures.
 * Re-record after a deliberate, versioned workflow change; never to make a replay pass.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { buildAndAttest } from '../src/demo/demo-builder.ts';
import type { PublishProgress, PublishRequest } from '../src/workflows/contract.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../test/helpers/publish-harness.ts';
import { historyToJson } from '../test/helpers/history-json.ts';
import { uniqueName } from '../test/helpers/services.ts';

const outFlag = process.argv.indexOf('--out');
const outDir =
  outFlag >= 0 && process.argv[outFlag + 1]
    ? process.argv[outFlag + 1]!
    : fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

async function staged(h: PublishHarness, opts: Partial<Parameters<typeof buildAndAttest>[2]> = {}) {
  const staging = `staging/${uniqueName('history')}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
    ...opts,
  });
  return { staging, digest };
}

async function awaitingApproval(handle: WorkflowHandle): Promise<void> {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await handle.query<PublishProgress>('progress')).status === 'AwaitingApproval') return;
    } catch {
      // the first workflow task may not have run yet
    }
    await sleep(250);
  }
  throw new Error(`${handle.workflowId} never reached AwaitingApproval`);
}

interface Case {
  name: string;
  expect: { status: 'PUBLISHED' | 'DENIED'; code?: string };
  run(h: PublishHarness): Promise<WorkflowHandle>;
}

const cases: Case[] = [
  {
    name: 'published',
    expect: { status: 'PUBLISHED' },
    async run(h) {
      const { staging, digest } = await staged(h);
      return h.start({ ...requestFor(h, staging, digest), releaseTag: 'stable' });
    },
  },
  {
    name: 'denied-builder-untrusted',
    expect: { status: 'DENIED', code: 'BUILDER_UNTRUSTED' },
    async run(h) {
      const { staging, digest } = await staged(h, {
        provenance: { builderId: 'https://evil.example/builder@v1' },
      });
      return h.start(requestFor(h, staging, digest));
    },
  },
  {
    name: 'denied-candidate-missing',
    expect: { status: 'DENIED', code: 'REGISTRY_ERROR' },
    async run(h) {
      const { staging, digest } = await staged(h);
      const res = await fetch(`http://${h.registryHost}/v2/${staging}/manifests/${digest}`, {
        method: 'DELETE',
      });
      if (res.status !== 202) throw new Error(`deleting the candidate: ${res.status}`);
      return h.start(requestFor(h, staging, digest));
    },
  },
  {
    name: 'approved',
    expect: { status: 'PUBLISHED' },
    async run(h) {
      const { staging, digest } = await staged(h);
      const request: PublishRequest = {
        ...requestFor(h, staging, digest, { policy: { approvalRequired: true, twoPersonRule: true } }),
        releaseTag: 'stable',
      };
      const handle = await h.start(request);
      await awaitingApproval(handle);
      await handle.executeUpdate('approve', { args: [{ approver: 'bob', reason: 'reviewed the change' }] });
      return handle;
    },
  },
  {
    name: 'rejected',
    expect: { status: 'DENIED', code: 'APPROVAL_REJECTED' },
    async run(h) {
      const { staging, digest } = await staged(h);
      const handle = await h.start(requestFor(h, staging, digest, { policy: { approvalRequired: true } }));
      await awaitingApproval(handle);
      await handle.executeUpdate('reject', { args: [{ approver: 'carol', reason: 'not this week' }] });
      return handle;
    },
  },
];

const h = await startPublishHarness();
try {
  mkdirSync(outDir, { recursive: true });
  for (const c of cases) {
    const handle = await c.run(h);
    const result = (await handle.result()) as { status: string; code?: string };
    if (result.status !== c.expect.status || (c.expect.code && result.code !== c.expect.code)) {
      throw new Error(`${c.name}: expected ${JSON.stringify(c.expect)}, got ${result.status} ${result.code}`);
    }
    const file = join(outDir, `${c.name}.json`);
    writeFileSync(file, historyToJson(await handle.fetchHistory()));
    console.log(`recorded ${c.name}: ${result.status}${result.code ? ` ${result.code}` : ''} -> ${file}`);
  }
} finally {
  await h.close();
}

/**
 * Records workflow histories for the replay test (docs/checklist.md#row-34): runs real publishes
 * (passed, denied by policy, denied by a pipeline failure, approved, rejected, and passed
 * after waiting on a timer for a pending attestor) on a real Worker against the local
 * services, and writes each history as JSON to test/fixtures/histories/<name>.json
 * (format: test/helpers/history-json.ts).
 *
 * Usage: node --import tsx scripts/record-histories.ts [--out DIR] [--only NAME]
 * (services up: npm run services:up).
 * --out writes elsewhere, e.g. to check the script without replacing the committed fixtures;
 * --only records that one case.
 * Re-record after a deliberate, versioned workflow change; never to make a replay pass.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { buildAndAttest } from '../src/demo/demo-builder.ts';
import type { PublishProgress, PublishRequest } from '../src/workflows/contract.ts';
import {
  startAttestationServer,
  type AttestationServer,
} from '../test/helpers/attestation-server-process.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../test/helpers/publish-harness.ts';
import { historyToJson } from '../test/helpers/history-json.ts';
import { uniqueName } from '../test/helpers/services.ts';
import { makeKey, signBundle, vsaStatement } from '../test/helpers/vsa-fixtures.ts';

type TestKey = ReturnType<typeof makeKey>;

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
        // One approval from anyone: a typed name never counts under the two-person rule.
        ...requestFor(h, staging, digest, { policy: { approvalRequired: true } }),
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

/** A dependency whose VSA the attestation store holds at level 3, and an image built on it. */
async function stagedWithDependency(h: PublishHarness, store: AttestationServer, verifierKey: TestKey) {
  const dependency = {
    uri: `oci://deps.example/${uniqueName('lib')}`,
    digest: { sha256: randomBytes(32).toString('hex') },
  };
  const vsa = vsaStatement({
    digest: dependency.digest,
    resourceUri: dependency.uri,
    verifierId: DEPENDENCY_VERIFIER,
    levels: ['SLSA_BUILD_LEVEL_3'],
  });
  store.put(`sha256:${dependency.digest.sha256}`, [signBundle(vsa, verifierKey)]);
  return staged(h, { provenance: { dependencies: [dependency] } });
}

const DEPENDENCY_VERIFIER = 'https://dependency-verifier.example/v1';

/** Cases that need the attestors: an attestation store process on loopback (as in levels.test.ts). */
const attestorCases = (store: AttestationServer, verifierKey: TestKey): Case[] => [
  {
    name: 'published-after-waiting-for-attestations',
    expect: { status: 'PUBLISHED' },
    async run(h) {
      const { staging, digest } = await stagedWithDependency(h, store, verifierKey);
      // The store answers "pending" once: the workflow waits on a durable timer and asks again.
      await store.control({ mode: 'pending', times: 1, retryAfterSeconds: 2 });
      return h.start(requestFor(h, staging, digest, { policy: { minDependencyLevel: 2 } }));
    },
  },
];

const only =
  process.argv.indexOf('--only') >= 0 ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

async function record(h: PublishHarness, list: Case[]) {
  for (const c of list) {
    if (only && c.name !== only) continue;
    const handle = await c.run(h);
    const result = (await handle.result()) as { status: string; code?: string };
    if (result.status !== c.expect.status || (c.expect.code && result.code !== c.expect.code)) {
      throw new Error(`${c.name}: expected ${JSON.stringify(c.expect)}, got ${result.status} ${result.code}`);
    }
    const file = join(outDir, `${c.name}.json`);
    writeFileSync(file, historyToJson(await handle.fetchHistory()));
    console.log(`recorded ${c.name}: ${result.status}${result.code ? ` ${result.code}` : ''} -> ${file}`);
  }
}

mkdirSync(outDir, { recursive: true });
const h = await startPublishHarness();
try {
  await record(h, cases);
} finally {
  await h.close();
}

const store = await startAttestationServer();
try {
  const verifierKey = makeKey('dep-verifier');
  const keyFile = join(store.dir, 'verifier.pub');
  writeFileSync(keyFile, verifierKey.publicKeyPem);
  const attestors = join(store.dir, 'attestors.json');
  writeFileSync(
    attestors,
    JSON.stringify({
      trust: {
        verifiers: [{ id: DEPENDENCY_VERIFIER, tracks: { BUILD: 3 } }],
        signers: [{ keyId: verifierKey.keyId, publicKeyFile: keyFile, verifierIds: [DEPENDENCY_VERIFIER] }],
      },
      attestors: [{ kind: 'http-store', name: 'store', baseUrl: store.url, timeoutMs: 5000 }],
      resolve: { ttlSeconds: { notFound: 0 } },
    }),
  );
  const withAttestors = await startPublishHarness(
    {},
    { SLSA_GATE_ATTESTORS: attestors, SLSA_GATE_ATTESTATION_DEADLINE: '20' },
  );
  try {
    await record(withAttestors, attestorCases(store, verifierKey));
  } finally {
    await withAttestors.close();
  }
} finally {
  await store.stop();
}

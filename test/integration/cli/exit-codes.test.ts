/**
 * The CLI's exit codes as a user sees them (src/cli/exit-codes.ts, docs/ci.md#exit-codes):
 * each failure mode of a command, run as a process, against the real services or a closed
 * loopback port standing for a service that is down. "Down" is never "denied" (exit 1).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { buildAndAttest, createBuilderKey } from '../../../src/demo/demo-builder.ts';
import { RegistryClient } from '../../../src/registry/client.ts';
import { publishWorkflowId } from '../../../src/workflows/contract.ts';
import { runSlsaGate } from '../../helpers/cli-process.ts';
import { freePort } from '../../helpers/own-services.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-exit-'));
const digest = `sha256:${'a'.repeat(64)}`;

/** The environment without any service address, so only the port variables under test say where to go. */
function portsOnly(ports: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...ports };
  for (const name of ['TEMPORAL_ADDRESS', 'MONGODB_URI', 'TEMPORAL_UI_URL', 'SLSA_GATE_INSECURE_REGISTRIES'])
    if (!(name in ports)) delete env[name];
  return env;
}

test('store down: audit list exits 4 naming the address MONGO_PORT gives', { timeout: 120_000 }, async () => {
  const port = String(await freePort());
  const res = await runSlsaGate(portsOnly({ MONGO_PORT: port }), 'audit', 'list', '--from-store');
  assert.equal(res.code, 4, res.err);
  assert.match(res.err, new RegExp(`^slsa-gate: ARCHIVE_UNAVAILABLE: .*127\\.0\\.0\\.1:${port}`, 'm'));
  assert.doesNotMatch(res.err, /\n\s+at /, 'no stack trace');
});

test(
  'registry down: verify-image exits 4 naming the registry, reached over the SLSA_GATE_INSECURE_REGISTRIES transport',
  { timeout: 120_000 },
  async () => {
    const port = String(await freePort());
    const key = join(dir, 'verifier.pub');
    writeFileSync(
      key,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const host = `127.0.0.1:${port}`;
    const res = await runSlsaGate(
      portsOnly({ SLSA_GATE_INSECURE_REGISTRIES: host }),
      'verify-image',
      '--verifier-id',
      'https://example.test/verifier',
      '--public-key',
      key,
      `${host}/staging/app@${digest}`,
    );
    assert.equal(res.code, 4, res.err);
    assert.match(res.err, new RegExp(`^slsa-gate: REGISTRY_UNAVAILABLE: .*${host}`, 'm'));
  },
);

test('unknown command and a bad option exit 2; --version exits 0', { timeout: 120_000 }, async () => {
  assert.equal((await runSlsaGate(process.env, 'no-such-command')).code, 2);
  assert.equal((await runSlsaGate(process.env, 'status', '--no-such-option')).code, 2);
  const version = await runSlsaGate(process.env, '--version');
  assert.equal(version.code, 0, version.err);
  assert.match(version.out, /^slsa-gate \d+\.\d+\.\d+/);
});

test(
  'help: every command name stands apart from its summary, and the exit codes are listed',
  { timeout: 120_000 },
  async () => {
    const help = await runSlsaGate(process.env, '--help');
    assert.equal(help.code, 0);
    const rows = help.out.split('\n').filter((line) => /^ {2}\S/.test(line));
    assert.ok(rows.length > 10);
    // Where each summary starts: the first word after a gap of two spaces or more.
    const columns = new Set(rows.map((row) => row.search(/(?<=\S {2,})\S/)));
    assert.equal(columns.size, 1, `summaries start in one column:\n${rows.join('\n')}`);
    assert.match(help.out, /4 infrastructure unavailable/);
    assert.match(help.out, /5 cancelled/);
  },
);

test(
  'Temporal down: status and cancel exit 4 naming the address TEMPORAL_PORT gives',
  { timeout: 120_000 },
  async () => {
    const port = String(await freePort());
    for (const args of [
      ['status', 'slsa-gate-no-such-run'],
      ['cancel', 'slsa-gate-no-such-run'],
    ]) {
      const res = await runSlsaGate(portsOnly({ TEMPORAL_PORT: port }), ...args);
      assert.equal(res.code, 4, `${args.join(' ')}: ${res.err}`);
      assert.match(
        res.err,
        new RegExp(`^slsa-gate: TEMPORAL_UNAVAILABLE: 127\\.0\\.0\\.1:${port} did not answer`, 'm'),
      );
    }
  },
);

test(
  'cancel: a running publish gets a cancellation request (exit 0); an unknown workflow exits 2',
  { timeout: 180_000 },
  async () => {
    ensureServices();
    const connection = await Connection.connect({ address: services.temporalAddress });
    const client = new Client({ connection, namespace: services.temporalNamespace });
    // A publish run on a task queue no worker polls: it stays RUNNING, so only the request is observed.
    const workflowId = uniqueName('cancel-cli');
    const handle = await client.workflow.start('publishArtifact', {
      taskQueue: uniqueName('no-worker'),
      workflowId,
      args: [{}],
    });
    try {
      const env = {
        ...process.env,
        TEMPORAL_ADDRESS: services.temporalAddress,
        TEMPORAL_NAMESPACE: services.temporalNamespace,
      };
      const res = await runSlsaGate(env, 'cancel', workflowId, '--json');
      assert.equal(res.code, 0, res.err);
      assert.deepEqual(
        { ...(JSON.parse(res.out) as object), uiUrl: undefined },
        { workflowId, runId: handle.firstExecutionRunId, cancelRequested: true, uiUrl: undefined },
      );
      const events = (await handle.fetchHistory()).events ?? [];
      assert.ok(
        events.some((e) => e.workflowExecutionCancelRequestedEventAttributes),
        'the history records the cancellation request',
      );
      const unknown = await runSlsaGate(env, 'cancel', uniqueName('no-such-run'));
      assert.equal(unknown.code, 2, unknown.err);
      assert.match(unknown.err, /^slsa-gate: NOT_FOUND: no workflow /m);
    } finally {
      await handle.terminate('test cleanup').catch(() => undefined);
      await connection.close();
    }
  },
);

test(
  'publish --wait --timeout: the wait ends before a verdict with exit 3, saying so; --json names the workflow',
  { timeout: 240_000 },
  async () => {
    ensureServices();
    const registryHost = new URL(services.registryUrl).host;
    const staging = `staging/${uniqueName('wait-timeout')}`;
    const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });
    const { digest } = await buildAndAttest(registry, staging, {
      tag: 'v1.0.0',
      seed: staging,
      key: createBuilderKey(),
    });
    const release = `release/${uniqueName('wait-timeout')}`;
    const workflowId = publishWorkflowId(registryHost, release, digest);
    // A task queue no worker polls: the run never reaches a verdict, as a run awaiting approval.
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_NAMESPACE: services.temporalNamespace,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_DB: uniqueName('wait_timeout').replaceAll('-', '_'),
      SLSA_GATE_TASK_QUEUE: uniqueName('no-worker'),
      SLSA_GATE_INSECURE_REGISTRIES: registryHost,
    };
    const connection = await Connection.connect({ address: services.temporalAddress });
    const client = new Client({ connection, namespace: services.temporalNamespace });
    try {
      const args = [
        'publish',
        '--image',
        `${registryHost}/${staging}@${digest}`,
        '--to',
        `${registryHost}/${release}`,
      ];
      const refused = await runSlsaGate(env, ...args, '--timeout', '2');
      assert.equal(refused.code, 2, `--timeout without --wait: ${refused.err}`);
      const res = await runSlsaGate(env, ...args, '--wait', '--timeout', '2', '--json');
      assert.equal(res.code, 3, res.err);
      assert.match(res.err, /the wait ended after 2 s before a verdict; the run goes on/);
      assert.equal((JSON.parse(res.out) as { workflowId: string }).workflowId, workflowId);
      assert.equal((await client.workflow.getHandle(workflowId).describe()).status.name, 'RUNNING');
    } finally {
      await client.workflow
        .getHandle(workflowId)
        .terminate('test cleanup')
        .catch(() => undefined);
      await connection.close();
    }
  },
);

/**
 * Every way the CLI fails is one coded line and the exit status of its code's layer
 * (src/core/errors.ts, src/cli/exit-codes.ts: input 2, a service that did not answer 4), answered within a bound,
 * never a stack trace, an uncoded `unexpected error` or a wait for ever. Real registry,
 * Temporal dev server and FerretDB; no worker runs on this file's task queue.
 *
 * Attacker or operator material, as each test says: a directory where an attestation file
 * goes, workflow and decision ids that name nothing, database names the store refuses,
 * ports where nothing (or something that never answers) listens, and a publish run that no
 * worker will ever take.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { EXIT } from '../../../src/cli/exit-codes.ts';
import { buildAndAttest, createBuilderKey } from '../../../src/demo/demo-builder.ts';
import { RegistryClient } from '../../../src/registry/client.ts';
import { publishWorkflowId, type PublishRequest } from '../../../src/workflows/contract.ts';
import { hasStackTrace, runCli, type CliRun } from '../../helpers/cli-process.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const registryHost = new URL(services.registryUrl).host;
const taskQueue = uniqueName('no-worker');
const env = {
  TEMPORAL_ADDRESS: services.temporalAddress,
  TEMPORAL_NAMESPACE: services.temporalNamespace,
  MONGODB_URI: services.mongoUri,
  SLSA_GATE_DB: uniqueName('coded').replace(/[^a-zA-Z0-9_]/g, '_'),
  SLSA_GATE_TASK_QUEUE: taskQueue,
  SLSA_GATE_INSECURE_REGISTRIES: registryHost,
};
const work = mkdtempSync(join(tmpdir(), 'slsa-gate-coded-'));
let connection: Connection;
let client: Client;
const servers: Server[] = [];

before(async () => {
  ensureServices();
  connection = await Connection.connect({ address: services.temporalAddress });
  client = new Client({ connection, namespace: services.temporalNamespace });
});
after(async () => {
  for (const server of servers) server.close();
  await connection?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Asserts one coded line on stderr, the exit status, and no stack trace. */
function assertCoded(run: CliRun, code: string, exit: number, names?: RegExp): void {
  const shown = `${run.stdout}${run.stderr}`;
  assert.notEqual(run.exit, null, `the command answered (it was killed waiting): ${shown}`);
  assert.match(run.stderr, new RegExp(`^slsa-gate: ${code}: `, 'm'), shown);
  assert.equal(run.exit, exit, shown);
  if (names) assert.match(run.stderr, names, shown);
  assert.doesNotMatch(run.stderr, /unexpected error/, shown);
  assert.equal(hasStackTrace(run), false, shown);
}

/** A loopback port with a server that accepts connections and never says a word, or nothing at all. */
async function port(kind: 'silent' | 'closed'): Promise<number> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as { port: number };
  if (kind === 'closed') await new Promise<void>((resolve) => server.close(() => resolve()));
  else servers.push(server);
  return p;
}

test('publish --attestation naming a directory is INPUT_INVALID naming it, and nothing starts', async () => {
  const staging = `staging/${uniqueName('coded')}`;
  const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });
  const { digest } = await buildAndAttest(registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: createBuilderKey(),
  });
  // Operator material: a directory where a file goes (a glob in a CI script that matched one).
  const run = await runCli(
    [
      'publish',
      '--image',
      `${registryHost}/${staging}@${digest}`,
      '--to',
      `${registryHost}/release/coded`,
      '--attestation',
      work,
    ],
    { env },
  );
  // Before: "slsa-gate: unexpected error in publish: EISDIR: illegal operation on a directory", exit 1.
  assertCoded(run, 'INPUT_INVALID', EXIT.INPUT, new RegExp(`attestation ${work}`));
  await assert.rejects(
    client.workflow.getHandle(publishWorkflowId(registryHost, 'release/coded', digest)).describe(),
    WorkflowNotFoundError,
  );
});

test('status and approve of a workflow id that names nothing are NOT_FOUND (exit 2, input)', async () => {
  const unknown = `publish:${registryHost}/release/nothing@sha256:${'0'.repeat(64)}`;
  // Before: "unexpected error in status: workflow not found for ID: …", exit 1.
  assertCoded(await runCli(['status', unknown], { env }), 'NOT_FOUND', EXIT.INPUT, /no publish publish:/);
  // Before: INPUT_INVALID, the code of a malformed request rather than of a missing one.
  assertCoded(await runCli(['approve', unknown, '--reason', 'ok'], { env }), 'NOT_FOUND', EXIT.INPUT);
});

test('audit show, verify and reverify of a decision id that names nothing are NOT_FOUND (exit 2)', async () => {
  // Before: "slsa-gate: no archived decision matches …" with no code, exit 1.
  for (const args of [
    ['audit', 'show', 'no-such-decision'],
    ['audit', 'verify', 'no-such-decision'],
    ['audit', 'reverify', 'no-such-decision'],
  ])
    assertCoded(await runCli(args, { env }), 'NOT_FOUND', EXIT.INPUT, /no-such-decision/);
});

test('audit verify refuses trust material rather than ignore it (INPUT_INVALID, exit 2)', async () => {
  // Integrity reads no keys (docs/audit.md#integrity-and-re-verification): a key given to it
  // would look checked while it is not.
  for (const flag of ['--public-key', '--trusted-root', '--vsa-public-key'])
    assertCoded(
      await runCli(['audit', 'verify', '--all', flag, 'x'], { env }),
      'INPUT_INVALID',
      EXIT.INPUT,
      /audit verify reads no trust material.*audit reverify/,
    );
});

test('a database name the store refuses is CONFIG_INVALID naming it (exit 2)', async () => {
  // Operator material: `+` is a legal MongoDB database name character that FerretDB refuses.
  const run = await runCli(['audit', 'list', '--from-store', '--db', 'audit+2026'], { env });
  // Before: "slsa-gate: unexpected error in audit list: Invalid namespace specified 'audit+2026.decisions'", exit 1.
  assertCoded(run, 'CONFIG_INVALID', EXIT.INPUT, /audit\+2026/);
});

test('audit list and stats without a read model are READ_MODEL_MISSING naming the directory and the export (exit 2)', async () => {
  // Before: `--dir` was an unknown option and the lists scanned the store.
  const missing = join(tmpdir(), uniqueName('no-read-model'));
  for (const command of ['list', 'stats']) {
    const run = await runCli(['audit', command, '--dir', missing], { env });
    assertCoded(run, 'READ_MODEL_MISSING', EXIT.INPUT, new RegExp(`${missing}.*audit export`));
  }
  // No --dir and no SLSA_GATE_READ_MODEL: the error says where to give it; the store is not scanned instead.
  assertCoded(await runCli(['audit', 'list'], { env }), 'READ_MODEL_MISSING', EXIT.INPUT, /--dir/);
});

test('a store that refuses or never answers is ARCHIVE_UNAVAILABLE (exit 4, unavailable), within the connect timeout', async () => {
  for (const kind of ['closed', 'silent'] as const) {
    const uri = `mongodb://127.0.0.1:${await port(kind)}/`;
    // Before, for the silent port: the answer came after the 5 s server selection and then the
    // driver's 30 s connect timeout, past this kill bound; now after twice the 5 s.
    const run = await runCli(['audit', 'list', '--from-store', '--mongodb-uri', uri], {
      env,
      killAfterMs: 30_000,
    });
    assertCoded(run, 'ARCHIVE_UNAVAILABLE', EXIT.UNAVAILABLE, /127\.0\.0\.1/);
  }
});

test('a Temporal server that cannot be reached is TEMPORAL_UNAVAILABLE (exit 4, unavailable)', async () => {
  const address = `127.0.0.1:${await port('closed')}`;
  const run = await runCli(['status', 'publish:anything'], { env: { ...env, TEMPORAL_ADDRESS: address } });
  // Before: "slsa-gate: unexpected error in status: Failed to connect before the deadline", exit 1.
  assertCoded(run, 'TEMPORAL_UNAVAILABLE', EXIT.UNAVAILABLE, new RegExp(address));
});

test('approve and status of a run no worker polls for answer TEMPORAL_UNAVAILABLE instead of waiting', async () => {
  // Material: a publish run started on a task queue no worker has ever polled (a worker down
  // since before the request came in).
  const digest = `sha256:${'1'.repeat(64)}`;
  const request: PublishRequest = {
    candidate: {
      registry: registryHost,
      repository: 'staging/no-worker',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    },
    releaseRegistry: registryHost,
    releaseRepository: `release/${uniqueName('no-worker')}`,
    requester: 'alice',
    attestations: [],
  };
  const handle = await client.workflow.start('publishArtifact', {
    taskQueue,
    workflowId: publishWorkflowId(registryHost, request.releaseRepository, digest),
    args: [request],
  });
  try {
    const approve = await runCli(['approve', handle.workflowId, '--reason', 'reviewed'], { env });
    // Before: nothing printed, and no answer until the process was killed.
    assertCoded(
      approve,
      'TEMPORAL_UNAVAILABLE',
      EXIT.UNAVAILABLE,
      new RegExp(`no worker polls task queue ${taskQueue}`),
    );
    const status = await runCli(['status', handle.workflowId, '--timeout', '5'], { env });
    // Before: no --timeout (INPUT_INVALID); without it, "unexpected error in status: Failed to query Workflow" after 35 s.
    assertCoded(status, 'TEMPORAL_UNAVAILABLE', EXIT.UNAVAILABLE, new RegExp(taskQueue));
    // Nothing reached the run: the verdict was refused before it was sent.
    const history = await handle.fetchHistory();
    assert.ok(!(history.events ?? []).some((e) => e.workflowExecutionUpdateAdmittedEventAttributes));
  } finally {
    await handle.terminate('test over');
  }
});

/**
 * Crash tests' rig: the publish worker as a separate OS process (fault-worker.ts) that a test
 * can SIGKILL and start again, a Temporal client, the archive and a registry client, all on
 * services the test chooses (its own instances, or the shared ones for what it does not kill).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { type Archive, databaseOf, openArchive } from '../../src/archive/archive.ts';
import {
  buildAndAttest,
  createBuilderKey,
  demoPolicy,
  demoTrustMap,
  type DemoBuilderKey,
} from '../../src/demo/demo-builder.ts';
import { parsePolicy } from '../../src/core/policy/policy-file.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { ensureDevSigningKey } from '../../src/signing/signing-key.ts';
import { publishWorkflowId, type PublishRequest } from '../../src/workflows/contract.ts';
import { ensureServices, services as sharedServices, uniqueName } from './services.ts';

const workerScript = fileURLToPath(new URL('./fault-worker.ts', import.meta.url));

/** Fault hooks of fault-worker.ts, by activity name. */
export interface Faults {
  crashAfter?: string;
  hangAfter?: string;
  pauseBefore?: string;
  archiveFailOnce?: string;
  archiveLoseReply?: string[];
}

/** A running fault-worker process. */
export interface WorkerProcess {
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit: code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

export interface CrashRig {
  dir: string;
  taskQueue: string;
  registryHost: string;
  registry: RegistryClient;
  archive: Archive;
  client: Client;
  builderKey: DemoBuilderKey;
  startWorker(faults?: Faults): Promise<WorkerProcess>;
  /** The operator's policy per candidate digest, loaded as the policy in force when its request starts. */
  policies: Map<string, string>;
  start(request: PublishRequest): Promise<WorkflowHandle>;
  /** A request for an image the demo builder made in `staging`; the demo policy is the one loaded for it. */
  request(
    staging: string,
    digest: string,
    opts?: { releaseTag?: string; policy?: Parameters<typeof demoPolicy>[1] },
  ): PublishRequest;
  close(): Promise<void>;
}

export async function startCrashRig(services: {
  temporalAddress: string;
  namespace: string;
  mongoUri: string;
  registryHost: string;
}): Promise<CrashRig> {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-crash-'));
  const builderKey = createBuilderKey();
  const builderKeyFile = join(dir, 'builder.pub');
  writeFileSync(builderKeyFile, builderKey.publicKeyPem);
  const database = uniqueName('crash').replace(/[^a-zA-Z0-9_-]/g, '_');
  const taskQueue = uniqueName('crash-publish');
  const workerEnv = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.namespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: database,
    SLSA_GATE_TASK_QUEUE: taskQueue,
    SLSA_GATE_INSECURE_REGISTRIES: services.registryHost,
    SLSA_GATE_PUBLIC_KEYS: `${builderKey.keyId}=${builderKeyFile}`,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa-key.pem')),
    SLSA_GATE_TEST_BUILDER_KEY_ID: builderKey.keyId,
    SLSA_GATE_TEST_GATE_DIR: dir,
    // Crash and outage tests approve straight through Temporal; who approves is tested in publish.test.ts.
    SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS: 'true',
  };
  const workers = new Set<WorkerProcess>();
  const archive = await openArchive(services.mongoUri, database);
  const connection = await Connection.connect({ address: services.temporalAddress });
  const client = new Client({ connection, namespace: services.namespace });
  const registry = RegistryClient.forHost(services.registryHost, { insecureHosts: [services.registryHost] });

  const policies = new Map<string, string>();
  // The fault worker's trust map is the demo one for this builder key (fault-worker.ts).
  const policyDigest = (text: string) =>
    parsePolicy(text, 'test-policy.json', demoTrustMap(builderKey.keyId)).digest;
  const rig: CrashRig = {
    dir,
    taskQueue,
    registryHost: services.registryHost,
    registry,
    archive,
    client,
    builderKey,
    policies,
    async startWorker(faults = {}) {
      const env: Record<string, string> = { ...process.env, ...workerEnv } as Record<string, string>;
      if (faults.crashAfter) env.SLSA_GATE_TEST_CRASH_AFTER = faults.crashAfter;
      if (faults.hangAfter) env.SLSA_GATE_TEST_HANG_AFTER = faults.hangAfter;
      if (faults.pauseBefore) env.SLSA_GATE_TEST_PAUSE_BEFORE = faults.pauseBefore;
      if (faults.archiveFailOnce) env.SLSA_GATE_TEST_ARCHIVE_FAIL_ONCE = faults.archiveFailOnce;
      if (faults.archiveLoseReply) env.SLSA_GATE_TEST_ARCHIVE_LOSE_REPLY = faults.archiveLoseReply.join(',');
      const worker = spawnWorker(env);
      workers.add(worker);
      void worker.exited.then(() => workers.delete(worker));
      await worker.waitForLine(/^ready$/, 120_000);
      return worker;
    },
    async start(request) {
      const policy = policies.get(request.candidate.digest);
      if (policy !== undefined)
        await archive.loadPolicy({
          digest: policyDigest(policy),
          text: policy,
          loadedBy: 'test operator',
          origin: 'test-policy.json',
        });
      return client.workflow.start('publishArtifact', {
        taskQueue,
        workflowId: publishWorkflowId(
          request.releaseRegistry,
          request.releaseRepository,
          request.candidate.digest,
        ),
        args: [request],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    },
    request(staging, digest, opts = {}) {
      // The operator's rule allows the release tag these tests publish under.
      const tags = ['source-tag', ...(opts.releaseTag ? [opts.releaseTag] : [])];
      policies.set(
        digest,
        demoPolicy([`${services.registryHost}/${staging}`], { release: { tags }, ...opts.policy }),
      );
      return {
        candidate: {
          registry: services.registryHost,
          repository: staging,
          digest,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
        releaseRegistry: services.registryHost,
        releaseRepository: staging.replace(/^staging\//, 'release/'),
        ...(opts.releaseTag ? { releaseTag: opts.releaseTag } : {}),
        requester: 'alice',
        attestations: [],
      };
    },
    async close() {
      await Promise.all([...workers].map((w) => w.kill('SIGKILL')));
      await connection.close();
      try {
        await databaseOf(archive).dropDatabase();
      } finally {
        await archive.close();
      }
    },
  };
  return rig;
}

/** startCrashRig on the shared services (started first if down), for tests that kill only the worker. */
export async function startSharedCrashRig(): Promise<CrashRig> {
  ensureServices();
  return startCrashRig({
    temporalAddress: sharedServices.temporalAddress,
    namespace: sharedServices.temporalNamespace,
    mongoUri: sharedServices.mongoUri,
    registryHost: new URL(sharedServices.registryUrl).host,
  });
}

/** An image the demo builder made and attested (tag v1.0.0, the rig's builder key) in a new `staging/<prefix>-…`. */
export async function stageImage(rig: CrashRig, prefix: string) {
  const staging = `staging/${uniqueName(prefix)}`;
  const { digest, envelope } = await buildAndAttest(rig.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: rig.builderKey,
  });
  return { staging, digest, envelope };
}

function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', workerScript], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) {
      if (w.pattern.test(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    pid: child.pid!,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve };
        waiters.add(waiter);
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `worker ${child.pid} printed no line matching ${pattern} in ${timeoutMs}ms; it printed: ${lines.join(' | ')}`,
            ),
          );
        }, timeoutMs);
        void exited.then(() => {
          if (waiters.delete(waiter)) {
            clearTimeout(timer);
            reject(
              new Error(
                `worker ${child.pid} exited before printing ${pattern}; it printed: ${lines.join(' | ')}`,
              ),
            );
          }
        });
        const done = waiter.resolve;
        waiter.resolve = (line) => {
          clearTimeout(timer);
          done(line);
        };
      });
    },
    async kill(signal = 'SIGKILL') {
      if (!gone) child.kill(signal);
      await exited;
    },
  };
}

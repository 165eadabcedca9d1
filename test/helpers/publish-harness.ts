import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import {
  NativeConnection,
  Runtime,
  Worker,
  DefaultLogger,
  type InjectedSinks,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { Sinks } from '@temporalio/workflow';
import { createActivities } from '../../src/activities/index.ts';
import type { ActivityDeps } from '../../src/activities/deps.ts';
import {
  buildAndAttest,
  createBuilderKey,
  demoPolicy,
  demoTrustMap,
  type DemoBuilderKey,
} from '../../src/demo/demo-builder.ts';
import type { SealedIdentity } from '../../src/core/identity.ts';
import { sealIdentity, sealRequester } from '../../src/core/identity-seal.ts';
import { parsePolicy } from '../../src/core/policy/policy-file.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { ensureDevSigningKey } from '../../src/signing/signing-key.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createActivityDeps } from '../../src/workers/activity-deps.ts';
import { publishStepSinks } from '../../src/workers/publish-step-sinks.ts';
import {
  PublishRequestSchema,
  publishWorkflowId,
  type PublishProgress,
  type PublishRequest,
  type PublishResult,
} from '../../src/workflows/contract.ts';
import { ensureServices, services, uniqueName } from './services.ts';
import { databaseOf } from '../../src/archive/archive.ts';

let runtimeInstalled = false;

/** A real Worker on a unique task queue, against the real Temporal server, registry and store. */
export interface PublishHarness {
  config: Config;
  deps: ActivityDeps & { close(): Promise<void> };
  client: Client;
  registry: RegistryClient;
  registryHost: string;
  builderKey: DemoBuilderKey;
  dir: string;
  /** The key the API would seal verified identities with (the worker's SLSA_GATE_IDENTITY_KEY). */
  identityKey: Buffer;
  /**
   * A hashed-token identity sealed as the API seals a verdict after authenticating `name`'s
   * token: for `runId` and the request it admitted (`requestDigest`, see verdictBinding).
   */
  sealToken(
    name: string,
    purpose: SealedIdentity['purpose'],
    workflowId: string,
    runId?: string,
    requestDigest?: string,
  ): SealedIdentity;
  /** The run of `handle` as a verdict seal binds it: its run id and the digest of its admitted request. */
  verdictBinding(handle: WorkflowHandle): Promise<{ runId: string; requestDigest?: string }>;
  /**
   * `request` with the requester identity the API seals after authenticating `name`'s token,
   * granted publish for the demo builder's source repository (issued at `now`, by default the present).
   */
  sealRequest(name: string, request: PublishRequest, now?: Date): PublishRequest;
  /**
   * The operator's policy for each candidate digest, loaded as the policy in force just before
   * that candidate's request starts (requests carry no policy; tests run one publish at a time
   * per policy).
   */
  policies: Map<string, string>;
  /** Loads a policy version as the operator would (`slsa-gate policy load`). */
  loadPolicy(text: string): Promise<void>;
  start(request: PublishRequest): Promise<WorkflowHandle>;
  publish(request: PublishRequest): Promise<PublishResult>;
  close(): Promise<void>;
}

/** More for the harness's Worker: workflow interceptor modules (bundled with the sources) and the sinks they call. */
export interface HarnessWorkerOptions {
  workflowInterceptorModules?: string[];
  sinks?: InjectedSinks<Sinks>;
}

/** The workflow code the harness's Worker runs: the sources, bundled at its start unless a bundle is given. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

/**
 * `workflowBundle`: the sources already bundled (`bundleWorkflowCode` over WORKFLOWS_PATH), for
 * a process that starts several harnesses and need not bundle the same code for each.
 */
export async function startPublishHarness(
  overrides: Partial<ActivityDeps> = {},
  env: Record<string, string> = {},
  workflowBundle?: WorkflowBundle,
  workerOptions: HarnessWorkerOptions = {},
): Promise<PublishHarness> {
  ensureServices();
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-e2e-'));
  const builderKey = createBuilderKey();
  const builderKeyFile = join(dir, 'builder.pub');
  writeFileSync(builderKeyFile, builderKey.publicKeyPem);
  const registryHost = new URL(services.registryUrl).host;
  const config = loadConfig({
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: uniqueName('e2e').replace(/[^a-zA-Z0-9_-]/g, '_'),
    SLSA_GATE_TASK_QUEUE: uniqueName('publish'),
    SLSA_GATE_INSECURE_REGISTRIES: registryHost,
    SLSA_GATE_PUBLIC_KEYS: `${builderKey.keyId}=${builderKeyFile}`,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa-key.pem')),
    ...env,
  });
  const identityKey = randomBytes(32);
  const deps = await createActivityDeps(config, {
    trustMap: demoTrustMap(builderKey.keyId),
    identityKey,
    ...overrides,
  });
  const nativeConnection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(deps),
    sinks: {
      ...publishStepSinks({ logger: Runtime.instance().logger, metrics: deps.metrics }),
      ...workerOptions.sinks,
    },
    ...(workerOptions.workflowInterceptorModules
      ? { interceptors: { workflowModules: workerOptions.workflowInterceptorModules } }
      : {}),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });

  const policies = new Map<string, string>();
  const loadPolicy = async (text: string) => {
    const { digest } = parsePolicy(text, 'test-policy.json', deps.trustMap);
    await deps.archive.loadPolicy({ digest, text, loadedBy: 'test operator', origin: 'test-policy.json' });
  };
  const start = async (request: PublishRequest) => {
    const policy = policies.get(request.candidate.digest);
    if (policy !== undefined) await loadPolicy(policy);
    return client.workflow.start('publishArtifact', {
      taskQueue: config.taskQueue,
      workflowId: publishWorkflowId(
        request.releaseRegistry,
        request.releaseRepository,
        request.candidate.digest,
      ),
      args: [request],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  };
  return {
    config,
    deps,
    client,
    registry,
    registryHost,
    builderKey,
    dir,
    identityKey,
    sealToken: (name, purpose, workflowId, runId, requestDigest) =>
      sealIdentity(identityKey, {
        identity: { kind: 'token', id: `token:${name}`, name },
        purpose,
        workflowId,
        ...(runId ? { runId } : {}),
        ...(requestDigest ? { requestDigest } : {}),
      }),
    async verdictBinding(handle) {
      const { runId } = await handle.describe();
      const { requestDigest } = await client.workflow
        .getHandle(handle.workflowId, runId)
        .query<PublishProgress>('progress');
      return { runId, ...(requestDigest ? { requestDigest } : {}) };
    },
    sealRequest: (name, request, now) => {
      // Sealed over the request as the workflow validates it, as the API does.
      const unsealedRequest = PublishRequestSchema.parse(request);
      return {
        ...unsealedRequest,
        requesterIdentity: sealRequester(
          identityKey,
          {
            // A token granted publish for the demo builder's source repository.
            identity: {
              kind: 'token',
              id: `token:${name}`,
              name,
              mayPublish: [{ sources: ['github.com/example/app'] }],
            },
            workflowId: publishWorkflowId(
              request.releaseRegistry,
              request.releaseRepository,
              request.candidate.digest,
            ),
            unsealedRequest,
          },
          now,
        ),
      };
    },
    policies,
    loadPolicy,
    start,
    async publish(request) {
      const handle = await start(request);
      return (await handle.result()) as PublishResult;
    },
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
      await databaseOf(deps.archive).dropDatabase();
      await deps.close();
    },
  };
}

/**
 * A demo-built image (tag v1.0.0, provenance signed by the harness's builder key, source
 * example/app) pushed to `staging` (by default a fresh repository); the same `seed` gives the same bytes.
 */
export async function stageDemoImage(
  h: PublishHarness,
  staging = `staging/${uniqueName('app')}`,
  seed = staging,
): Promise<{ staging: string; digest: string; envelope: Uint8Array }> {
  const built = await buildAndAttest(h.registry, staging, { tag: 'v1.0.0', seed, key: h.builderKey });
  return { staging, digest: built.digest, envelope: built.envelope };
}

/** A publish request for an image the demo builder made; the demo policy over its repository is the one loaded for it. */
export function requestFor(
  h: PublishHarness,
  staging: string,
  digest: string,
  opts: {
    tag?: string;
    release?: string;
    requester?: string;
    policy?: Parameters<typeof demoPolicy>[1];
  } = {},
): PublishRequest {
  const releaseRepository = opts.release ?? staging.replace(/^staging\//, 'release/');
  // The rule sends this image to the release repository the request names.
  h.policies.set(
    digest,
    demoPolicy([`${h.registryHost}/${staging}`], {
      release: { destinations: [`${h.registryHost}/${releaseRepository}`] },
      ...opts.policy,
    }),
  );
  return {
    candidate: {
      registry: h.registryHost,
      repository: staging,
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...(opts.tag ? { tag: opts.tag } : {}),
    },
    releaseRegistry: h.registryHost,
    releaseRepository,
    requester: opts.requester ?? 'alice',
    attestations: [],
  };
}

/**
 * Secrets stay in the worker: a real publish from a staging registry to a release registry,
 * two private htpasswd registries with different credentials (staging through the
 * SLSA_GATE_REGISTRY_* variables, release through the SLSA_GATE_REGISTRY_CREDENTIALS file),
 * the VSA key given as PEM in SLSA_GATE_VSA_KEY_PEM. Afterwards the workflow's full history,
 * its description, every archive collection and everything logged are searched for each
 * secret, raw and encoded.
 */
import { parsePolicy } from '../../../src/core/policy/policy-file.ts';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Binary } from 'mongodb';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { createActivities } from '../../../src/activities/index.ts';
import { isGateError } from '../../../src/core/errors.ts';
import {
  buildAndAttest,
  createBuilderKey,
  demoPolicy,
  demoTrustMap,
} from '../../../src/demo/demo-builder.ts';
import { staticCredentials } from '../../../src/registry/credentials.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createActivityDeps } from '../../../src/workers/activity-deps.ts';
import { publishStepSinks } from '../../../src/workers/publish-step-sinks.ts';
import { connectClient } from '../../../src/config/temporal-client.ts';
import {
  publishWorkflowId,
  type PublishRequest,
  type PublishResult,
} from '../../../src/workflows/contract.ts';
import { localRegistryClient } from '../../helpers/oci-images.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { startRegistry, type RegistryProcess } from '../registry/registry-process.ts';
import { databaseOf } from '../../../src/archive/archive.ts';

// bcrypt (cost 4) of the two registry passwords below, made with: python3 -c "import crypt;
// print(crypt.crypt('<password>', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"
const STAGING = { username: 'stager', password: 'gate-Reg1stry-pw-7d3f' };
const STAGING_HTPASSWD = 'stager:$2b$04$/d6uCeJLZXq3G7gZt6cRa.kir2I.necSDzdZHjoj2nlMZ9l/XASsO\n';
const RELEASE = { username: 'releaser', password: 'rel-Push-token-91ac' };
const RELEASE_HTPASSWD = 'releaser:$2b$04$RRlF35X.xsn7Rb0pdkqE.OkdE/1hyAT1vPaKzRQ/72cng1vua2Nk6\n';

const logged: string[] = [];
const vsaKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

let staging: RegistryProcess;
let release: RegistryProcess;
let dir: string;

before(async () => {
  ensureServices();
  // Everything the Temporal runtime and the worker log, at every level.
  Runtime.install({
    logger: new DefaultLogger('TRACE', (entry: LogEntry) => {
      logged.push(`${entry.message} ${JSON.stringify(entry.meta ?? {}, bigintSafe)}`);
    }),
  });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  const htpasswd = (content: string) => (d: string) => {
    writeFileSync(join(d, 'htpasswd'), content);
    return `  htpasswd:\n    realm: slsa-gate-test\n    path: ${join(d, 'htpasswd')}`;
  };
  staging = await startRegistry({ auth: htpasswd(STAGING_HTPASSWD) });
  release = await startRegistry({ auth: htpasswd(RELEASE_HTPASSWD) });
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-secrets-'));
});

after(async () => {
  await staging?.stop();
  await release?.stop();
});

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Every string in a value, with byte arrays read both as UTF-8 and as base64. */
function strings(value: unknown, out: string[] = []): string[] {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) {
    const b = Buffer.from(value);
    out.push(b.toString('utf8'), b.toString('base64'));
  } else if (value instanceof Binary) strings(value.buffer, out);
  else if (typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && !(value instanceof Date)) {
      // protobuf Long and similar
      out.push(String(value));
    }
    for (const v of Object.values(value as Record<string, unknown>)) strings(v, out);
  } else out.push(String(value));
  return out;
}

/** The secret and its encodings as they could leak: base64, Basic auth header, PEM body on one line. */
function forms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  return [secret, b64, b64.replace(/=+$/, ''), Buffer.from(secret).toString('base64url')];
}

test('no registry password, VSA key or token appears in the history, the archive or the logs', async () => {
  const credsFile = join(dir, 'registry-credentials.json');
  writeFileSync(credsFile, JSON.stringify({ [release.host]: RELEASE }), { mode: 0o600 });
  const builderKey = createBuilderKey();
  const builderKeyFile = join(dir, 'builder.pub');
  writeFileSync(builderKeyFile, builderKey.publicKeyPem);
  // The secrets the worker reads from its environment.
  process.env.SLSA_GATE_VSA_KEY_PEM = vsaKeyPem;
  process.env.SLSA_GATE_REGISTRY_HOST = staging.host;
  process.env.SLSA_GATE_REGISTRY_USERNAME = STAGING.username;
  process.env.SLSA_GATE_REGISTRY_PASSWORD = STAGING.password;
  process.env.DOCKER_CONFIG = dir; // no config.json there: no credentials from the developer's machine
  const config = loadConfig({
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: uniqueName('secrets').replace(/[^a-zA-Z0-9_]/g, '_'),
    SLSA_GATE_TASK_QUEUE: uniqueName('secrets'),
    SLSA_GATE_INSECURE_REGISTRIES: `${staging.host},${release.host}`,
    SLSA_GATE_PUBLIC_KEYS: `${builderKey.keyId}=${builderKeyFile}`,
    SLSA_GATE_REGISTRY_CREDENTIALS: credsFile,
  });
  const deps = await createActivityDeps(config, { trustMap: demoTrustMap(builderKey.keyId) });
  const native = await NativeConnection.connect(config.temporal.nativeConnectionOptions());
  const worker = await Worker.create({
    connection: native,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowsPath: fileURLToPath(new URL('../../../src/workflows/index.ts', import.meta.url)),
    activities: createActivities(deps),
    sinks: publishStepSinks({ logger: Runtime.instance().logger }),
  });
  const running = worker.run();
  const { client, close } = await connectClient(config);
  try {
    const stagingClient = localRegistryClient(
      { credentials: staticCredentials({ [staging.host]: STAGING }) },
      staging.url,
    );
    const repo = `staging/${uniqueName('app')}`;
    const built = await buildAndAttest(stagingClient, repo, { tag: 'v1.0.0', seed: repo, key: builderKey });
    // The operator's policy in force (requests carry none).
    const policyText = demoPolicy([`${staging.host}/${repo}`], {
      release: {
        destinations: [`${release.host}/${repo.replace(/^staging\//, 'release/')}`],
        tags: ['candidate'],
      },
    });
    await deps.archive.loadPolicy({
      digest: parsePolicy(policyText, 'test-policy.json', deps.trustMap).digest,
      text: policyText,
      loadedBy: 'test operator',
      origin: 'test-policy.json',
    });
    const request: PublishRequest = {
      candidate: {
        registry: staging.host,
        repository: repo,
        digest: built.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      },
      releaseRegistry: release.host,
      releaseRepository: repo.replace(/^staging\//, 'release/'),
      requester: 'alice',
      // A non-version tag: what is tested here is where secrets go, not the ref rules.
      releaseTag: 'candidate',
      attestations: [],
    };
    const handle = await client.workflow.start('publishArtifact', {
      taskQueue: config.taskQueue,
      workflowId: publishWorkflowId(request.releaseRegistry, request.releaseRepository, built.digest),
      args: [request],
    });
    const result = (await handle.result()) as PublishResult;
    assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
    // The release registry really holds it: the release credentials were used.
    const releaseClient = localRegistryClient(
      { credentials: staticCredentials({ [release.host]: RELEASE }) },
      release.url,
    );
    assert.equal((await releaseClient.resolve(request.releaseRepository, 'candidate')).digest, built.digest);

    const history = await handle.fetchHistory();
    const description = await handle.describe();
    const haystacks: Record<string, string[]> = {
      history: strings(history),
      description: strings(description.raw),
      result: strings(result),
      logs: logged,
    };
    const collections = await databaseOf(deps.archive).listCollections().toArray();
    assert.ok(collections.length > 0);
    for (const { name } of collections) {
      const docs = await databaseOf(deps.archive).collection(name).find({}).toArray();
      haystacks[`archive.${name}`] = strings(docs);
    }
    assert.ok(haystacks.history!.length > 100, 'the history was read');
    assert.ok(
      Object.keys(haystacks).some((k) => k.startsWith('archive.') && haystacks[k]!.length > 0),
      'the archive holds records',
    );
    // The test can fail: the public halves and the digest are there, in the same haystacks.
    assert.ok(haystacks.history!.some((s) => s.includes(built.digest)));

    const pemBody = vsaKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const secrets: Record<string, string[]> = {
      'VSA key PEM': [...forms(vsaKeyPem), pemBody, pemBody.slice(0, 40)],
      'staging password': [...forms(STAGING.password), ...forms(`${STAGING.username}:${STAGING.password}`)],
      'release password': [...forms(RELEASE.password), ...forms(`${RELEASE.username}:${RELEASE.password}`)],
    };
    for (const [what, needles] of Object.entries(secrets)) {
      for (const [where, hay] of Object.entries(haystacks)) {
        for (const needle of needles) {
          const hit = hay.find((s) => s.includes(needle));
          assert.equal(hit, undefined, `${what} found in ${where}`);
        }
      }
    }
  } finally {
    await close();
    worker.shutdown();
    await running;
    await native.close();
    await databaseOf(deps.archive).dropDatabase();
    await deps.close();
  }
});

test('a missing secret is CONFIG_INVALID saying which one and where it is looked for', async () => {
  const base = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: uniqueName('secrets').replace(/[^a-zA-Z0-9_]/g, '_'),
  };
  // No VSA key anywhere.
  delete process.env.SLSA_GATE_VSA_KEY_PEM;
  await assert.rejects(createActivityDeps(loadConfig(base)), (err: unknown) => {
    assert.ok(isGateError(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /SLSA_GATE_VSA_KEY\b/);
    assert.match(err.message, /SLSA_GATE_VSA_KEY_PEM/);
    return true;
  });
  // A registry password without its user and host.
  process.env.SLSA_GATE_VSA_KEY_PEM = vsaKeyPem;
  delete process.env.SLSA_GATE_REGISTRY_HOST;
  delete process.env.SLSA_GATE_REGISTRY_USERNAME;
  process.env.SLSA_GATE_REGISTRY_PASSWORD = STAGING.password;
  await assert.rejects(createActivityDeps(loadConfig(base)), (err: unknown) => {
    assert.ok(isGateError(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.deepEqual(err.detail?.missing, ['SLSA_GATE_REGISTRY_HOST', 'SLSA_GATE_REGISTRY_USERNAME']);
    assert.ok(!err.message.includes(STAGING.password));
    return true;
  });
  delete process.env.SLSA_GATE_REGISTRY_PASSWORD;
  // A credentials file named but absent.
  await assert.rejects(
    createActivityDeps(loadConfig({ ...base, SLSA_GATE_REGISTRY_CREDENTIALS: join(dir, 'absent.json') })),
    (err: unknown) => {
      assert.ok(isGateError(err));
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.detail?.variable, 'SLSA_GATE_REGISTRY_CREDENTIALS');
      return true;
    },
  );
});

/**
 * The gate's own image, end to end: scripts/release-image.ts builds it from this tree (the
 * Dockerfile's final stage without a Docker engine), publishes it through the gate (a real
 * worker, Temporal, the archive, the registry) and checks its VSA with cosign. Then, as a
 * consumer and as an operator would: cosign accepts the VSA with the gate's key and refuses
 * it with another; the image pulled back from the release repository holds the built app
 * and production dependencies only; and each entry point, run from the unpacked image (chroot
 * as the image's user, with the image's environment), starts and answers its health check.
 *
 * Cost (2 cores, loaded): building the 4 layers (~350 MB uncompressed) ~10 s, pushing ~3 s,
 * the publish ~10 s; the entry points ~20 s each on a loaded machine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { databaseOf, openArchive } from '../../src/archive/archive.ts';
import { hashToken } from '../../src/api/api-tokens.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { interopTools } from '../helpers/interop-tools.ts';
import { freePort, waitForOutput } from '../helpers/process-output.ts';
import { ensureServices, services, uniqueName } from '../helpers/services.ts';
import { createTestPki } from '../helpers/test-pki.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const VSA_TYPE = 'https://slsa.dev/verification_summary/v1';
const registryHost = new URL(services.registryUrl).host;
const run = uniqueName('gate-image');
const db = run.replaceAll('-', '_');
const work = mkdtempSync(join(tmpdir(), 'slsa-gate-image-'));
const rootfs = join(work, 'rootfs');
const isRoot = process.getuid?.() === 0;

interface Released {
  image: string;
  tag: string;
  digest: string;
  vsaPublicKey: string;
}
let released: Released;
/** The image's config (`config` of the OCI image config). */
let imageConfig: {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Healthcheck: { Test: string[] };
};

before(async () => {
  ensureServices();
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'scripts/release-image.ts'),
      '--registry',
      registryHost,
      '--staging',
      `staging/${run}`,
      '--release',
      `release/${run}`,
      '--data-dir',
      join(work, 'release'),
      '--allow-dirty',
      '--json',
    ],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 900_000,
      env: { ...process.env, MONGODB_URI: services.mongoUri, SLSA_GATE_DB: db },
    },
  );
  assert.equal(r.status, 0, `release-image failed:\n${r.stdout}\n${r.stderr}`);
  released = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Released;

  // Pulled back from the release repository, as a consumer gets it, and unpacked.
  const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });
  const releaseRepo = `release/${run}`;
  const manifest = JSON.parse(
    Buffer.from((await registry.getManifest(releaseRepo, released.digest)).bytes).toString('utf8'),
  ) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> };
  const configBlob = await registry.getBlob(releaseRepo, manifest.config.digest, 1 << 20);
  imageConfig = (JSON.parse(Buffer.from(configBlob).toString('utf8')) as { config: typeof imageConfig })
    .config;
  mkdirSync(rootfs);
  for (const layer of manifest.layers) {
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    const file = join(work, `${layer.digest.slice(7)}.tar`);
    writeFileSync(file, await registry.getBlob(releaseRepo, layer.digest, 512 * 1024 * 1024));
    const x = spawnSync('tar', [
      '-xpf',
      file,
      '-C',
      rootfs,
      ...(isRoot ? ['--same-owner', '--numeric-owner'] : []),
    ]);
    assert.equal(x.status, 0, String(x.stderr));
    rmSync(file);
  }
  // What a container runtime mounts: /proc (mounted per process below), /run for secrets.
  mkdirSync(join(rootfs, 'proc'));
  mkdirSync(join(rootfs, 'run/secrets'), { recursive: true });
});

after(async () => {
  const archive = await openArchive(services.mongoUri, db);
  await databaseOf(archive).dropDatabase();
  await archive.close();
  rmSync(work, { recursive: true, force: true });
});

/** `cosign verify-attestation --key KEY --type <VSA>` on the published image, offline. */
function cosignVerifyVsa(key: string) {
  const tools = interopTools();
  return tools.run(tools.cosign, [
    'verify-attestation',
    '--key',
    key,
    '--type',
    VSA_TYPE,
    '--insecure-ignore-tlog=true',
    '--trusted-root',
    tools.emptyTrustedRoot,
    released.image,
  ]);
}

test('the image published through the gate carries a VSA cosign accepts with the gate key, and only with it', () => {
  assert.equal(released.image, `${registryHost}/release/${run}@${released.digest}`);
  const ok = cosignVerifyVsa(released.vsaPublicKey);
  assert.equal(ok.status, 0, ok.stderr);
  const statements = ok.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) =>
      JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')),
    );
  assert.equal(statements.length, 1);
  const vsa = statements[0] as {
    predicateType: string;
    subject: Array<{ digest: { sha256: string } }>;
    predicate: { verificationResult: string; resourceUri: string };
  };
  assert.equal(vsa.predicateType, VSA_TYPE);
  assert.equal(vsa.subject[0]?.digest.sha256, released.digest.slice('sha256:'.length));
  assert.equal(vsa.predicate.verificationResult, 'PASSED');
  assert.equal(vsa.predicate.resourceUri, `oci://${registryHost}/release/${run}`);

  // Attacker material: a P-256 key made here, which nobody trusts, stands for "another signer".
  const other = join(work, 'other.pub');
  writeFileSync(
    other,
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  assert.notEqual(cosignVerifyVsa(other).status, 0, 'a VSA is accepted only with the gate key');
});

/** Every path under `dir`, relative, directories with a trailing slash. */
function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((d) => {
    const path = `${prefix}${d.name}`;
    return d.isDirectory() && !d.isSymbolicLink() ? [`${path}/`, ...listTree(dir, `${path}/`)] : [path];
  });
}

test('the image holds the built app and its production dependencies, no sources, tests, tools, keys or dev dependencies', () => {
  const app = listTree(join(rootfs, 'app'));
  for (const needed of ['bin/slsa-gate.js', 'bin/healthcheck.js', 'dist/workflow-bundle.js'])
    assert.ok(app.includes(needed), `/app/${needed}`);
  assert.ok(
    app.some((p) => /^dist\/cli\/main\.m?js$/.test(p)),
    'the CLI module bin/slsa-gate.js imports',
  );
  const top = new Set(app.filter((p) => /^[^/]+\/?$/.test(p)));
  assert.deepEqual([...top].sort(), ['LICENSE', 'assets/', 'bin/', 'dist/', 'node_modules/', 'package.json']);
  for (const devOnly of [
    'typescript',
    'tsx',
    'esbuild',
    'eslint',
    'prettier',
    'fast-check',
    'playwright-core',
    'zod',
  ])
    assert.ok(!top.has(`node_modules/${devOnly}/`) && !app.includes(`node_modules/${devOnly}/`), devOnly);
  assert.deepEqual(
    app.filter((p) => /(^|\/)(\.data|\.tools|\.git|test|src)\/$/.test(p) && !p.startsWith('node_modules/')),
    [],
  );
  assert.deepEqual(
    app.filter((p) => /\.(pem|key)$/.test(p)),
    [],
    'no key material',
  );
  // Only the runtime's own platform: no prebuilt core bridge for another.
  assert.deepEqual(readdirSync(join(rootfs, 'app/node_modules/@temporalio/core-bridge/releases')), [
    'x86_64-unknown-linux-gnu',
  ]);
  assert.equal(imageConfig.User, '65532:65532');
  if (isRoot) {
    // /app is root's and not writable by the user the image runs as.
    const s = statSync(join(rootfs, 'app/bin/slsa-gate.js'));
    assert.equal(s.uid, 0);
    assert.equal(s.mode & 0o022, 0);
  }
});

/** A file the image's user can read at /run/secrets/<name>. */
function secret(name: string, from: string): string {
  copyFileSync(from, join(rootfs, 'run/secrets', name));
  if (isRoot) chownSync(join(rootfs, 'run/secrets', name), 65532, 65532);
  return `/run/secrets/${name}`;
}

/** The image's entry point with `args`, as a container runs it: chroot, its user, its environment, /proc. */
function runImage(
  args: string[],
  env: Record<string, string>,
  command = imageConfig.Entrypoint,
): ChildProcess {
  const imageEnv = Object.fromEntries(
    imageConfig.Env.map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  return spawn(
    'unshare',
    [
      '--mount',
      `--mount-proc=${join(rootfs, 'proc')}`,
      'chroot',
      `--userspec=${imageConfig.User}`,
      rootfs,
      ...command,
      ...args,
    ],
    { env: { ...imageEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' },
  );
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** Polls until `check` holds, at most `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 180_000): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const needsRoot = isRoot ? {} : { skip: 'runs the image with chroot, which needs root' };

test(
  'the worker entry point starts from the image and its HEALTHCHECK passes; SIGTERM stops it cleanly',
  needsRoot,
  async () => {
    const vsaKey = secret('vsa-key.pem', join(work, 'release/vsa-key.pem'));
    // The image's HEALTHCHECK probes the port its SLSA_GATE_HEALTH_LISTEN names.
    const listen = imageConfig.Env.find((e) => e.startsWith('SLSA_GATE_HEALTH_LISTEN='))!.split('=')[1]!;
    const probe = imageConfig.Healthcheck.Test;
    assert.equal(probe[0], 'CMD');
    assert.equal(new URL(probe.at(-1)!).port, listen.split(':')[1]);
    const port = await freePort();
    let exit: number | null = null;
    const worker = runImage(['worker'], {
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_NAMESPACE: services.temporalNamespace,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_DB: db,
      SLSA_GATE_TASK_QUEUE: `${run}-worker`,
      SLSA_GATE_VSA_KEY: vsaKey,
      SLSA_GATE_HEALTH_LISTEN: `127.0.0.1:${port}`,
    });
    try {
      await waitForOutput(worker, /health on http:\/\/127\.0\.0\.1:\d+\/healthz/);
      // The image's own probe command, run in the image, against this worker's port.
      const healthy = await eventually(async () => {
        const p = runImage([], {}, [...probe.slice(1, -1), `http://127.0.0.1:${port}/healthz`]);
        return new Promise<boolean>((resolve) => p.once('exit', (code) => resolve(code === 0)));
      });
      assert.ok(healthy, 'HEALTHCHECK passes once the worker polls');
      const body = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { status: string };
      assert.equal(body.status, 'RUNNING');
    } finally {
      exit = await stop(worker);
    }
    assert.equal(exit, 0, 'SIGTERM: the worker drains and exits 0');
  },
);

test('api serve starts from the image and answers /healthz without a credential', needsRoot, async () => {
  const token = randomBytes(32).toString('hex');
  let exit: number | null = null;
  const api = runImage(['api', 'serve', '--host', '127.0.0.1', '--port', '0'], {
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: db,
    SLSA_GATE_API_TOKENS: JSON.stringify({
      tokens: [{ name: 'ops', sha256: hashToken(token), scopes: ['audit:read'] }],
    }),
  });
  try {
    const [, url] = await waitForOutput(api, /listening on (http:\/\/\S+)/);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.equal(
      (await fetch(`${url}/api/v1/decisions`)).status,
      401,
      'everything else still needs a credential',
    );
  } finally {
    exit = await stop(api);
  }
  assert.equal(exit, 0);
});

test('webhook serve starts from the image and answers /healthz over TLS', needsRoot, async () => {
  const pki = createTestPki('slsa-gate-webhook.test');
  const port = await freePort();
  let exit: number | null = null;
  const webhook = runImage(
    [
      'webhook',
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--tls-cert',
      secret('tls.crt', pki.files.serverCert),
      '--tls-key',
      secret('tls.key', pki.files.serverKey),
      '--verifier-id',
      'https://slsa-gate.dev/verifier/v1',
      '--public-key',
      secret('vsa-key.pub', released.vsaPublicKey),
    ],
    {},
  );
  try {
    await waitForOutput(webhook, /listening on https:/);
    const status = await new Promise<number>((resolve, reject) => {
      request(
        { host: '127.0.0.1', port, path: '/healthz', ca: pki.caCert, servername: pki.serverName },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .once('error', reject)
        .end();
    });
    assert.equal(status, 200);
  } finally {
    exit = await stop(webhook);
  }
  assert.equal(exit, 0);
});

test('the CLI entry point runs from the image', needsRoot, async () => {
  const cli = runImage(['version'], {});
  let out = '';
  cli.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((resolve) => cli.once('close', resolve));
  assert.equal(code, 0);
  assert.match(out, /^slsa-gate \S+ \(node 24\.\d+\.\d+\)$/m);
});

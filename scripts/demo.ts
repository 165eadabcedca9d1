/**
 * `npm run demo`: builds three images into a staging repository with SLSA v1 provenance
 * signed by a local demo builder, starts a worker, and publishes them through the real
 * CLI: one is published, one is denied (tampered provenance), one waits for approval and
 * is approved. Exits 0 only if all three behaved so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openArchive } from '../src/archive/archive.ts';
import { buildAndAttest, createBuilderKey, demoPolicy, demoTrustMap } from '../src/demo/demo-builder.ts';
import { RegistryClient } from '../src/registry/client.ts';
import { ensureDevSigningKey } from '../src/signing/signing-key.ts';
import { loadConfig } from '../src/config/config.ts';
import { publishWorkflowId } from '../src/workflows/contract.ts';
import { listReferrers } from '../src/registry/referrers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '.data', 'demo');
mkdirSync(dataDir, { recursive: true });
const registryHost = `127.0.0.1:${process.env.REGISTRY_PORT ?? '5000'}`;
const run = Date.now().toString(36);

const key = createBuilderKey();
const builderKeyFile = join(dataDir, 'demo-builder.pub');
writeFileSync(builderKeyFile, key.publicKeyPem);
const trustMapFile = join(dataDir, 'trust-map.json');
writeFileSync(trustMapFile, JSON.stringify(demoTrustMap(key.keyId), null, 2));

const repos = {
  app: `staging/demo-app-${run}`,
  tampered: `staging/demo-tampered-${run}`,
  gated: `staging/demo-gated-${run}`,
};
const open = JSON.parse(demoPolicy([`${registryHost}/${repos.app}`, `${registryHost}/${repos.tampered}`]));
// One approval from anyone: the demo approves with a typed name from the CLI, and a typed name
// never counts under the two-person rule or a quorum (docs/security-model.md#approvals).
const gated = JSON.parse(demoPolicy([`${registryHost}/${repos.gated}`], { approvalRequired: true }));
const policyFile = join(dataDir, 'policy.json');
writeFileSync(
  policyFile,
  JSON.stringify(
    { ...open, rules: [...open.rules, { ...gated.rules[0], name: 'demo images that need approval' }] },
    null,
    2,
  ),
);

const env: NodeJS.ProcessEnv = {
  ...process.env,
  SLSA_GATE_TASK_QUEUE: `slsa-gate-demo-${run}`,
  SLSA_GATE_POLICY: policyFile,
  SLSA_GATE_TRUST_MAP: trustMapFile,
  SLSA_GATE_PUBLIC_KEYS: `${key.keyId}=${builderKeyFile}`,
  SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(root, '.data', 'keys', 'vsa-key.pem')),
  SLSA_GATE_INSECURE_REGISTRIES: registryHost,
  // The demo approves from the operator's CLI, which has no identity sealed by the API
  // (docs/security-model.md: production approvals go through `slsa-gate api serve`).
  SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS: 'true',
};
const config = loadConfig(env);
// The worker's JSON log goes to a file, so the demo's own output stays readable; its metrics
// are served on a free loopback port and checked at the end (docs/operations.md#metrics).
const workerLog = join(dataDir, 'worker.log');
const workerEnv = { ...env, SLSA_GATE_METRICS_LISTEN: '127.0.0.1:0' };

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { status: number; out: string } {
  console.log(`\n$ slsa-gate ${args.join(' ')}`);
  const res = spawnSync(process.execPath, [join(root, 'bin', 'slsa-gate.js'), ...args], {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
  });
  process.stdout.write(res.stdout);
  process.stderr.write(res.stderr);
  return { status: res.status ?? -1, out: res.stdout };
}

async function startWorker(): Promise<{ worker: ChildProcess; metricsUrl: string }> {
  const log = openSync(workerLog, 'w');
  const worker = spawn(process.execPath, [join(root, 'bin', 'slsa-gate.js'), 'worker'], {
    env: workerEnv,
    stdio: ['ignore', log, 'pipe'],
  });
  closeSync(log);
  // Never leave the worker behind, whatever ends the demo.
  process.once('exit', () => worker.kill('SIGKILL'));
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not start in 60 s')), 60_000);
    let text = '';
    worker.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      text += chunk.toString();
      const url = /metrics on (http:\/\/\S+)/.exec(text)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
  });
  return { worker, metricsUrl };
}

/** The families of docs/operations.md#metrics that have at least one sample in `exposition`. */
function seriesWithSamples(exposition: string, families: string[]): string[] {
  const sampled = new Set(
    exposition
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]),
  );
  return families.filter((f) => sampled.has(f) || sampled.has(`${f}_count`));
}

const results: Array<[string, boolean]> = [];
const expect = (what: string, ok: boolean) => {
  results.push([what, ok]);
  console.log(`${ok ? '✔' : '✖'} ${what}`);
};

const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });
console.log('Building three images into the staging repository, with provenance signed by the demo builder…');
const app = await buildAndAttest(registry, repos.app, { tag: 'v1.0.0', seed: `${run}-app`, key });
const tampered = await buildAndAttest(registry, repos.tampered, {
  tag: 'v1.0.0',
  seed: `${run}-tampered`,
  key,
  tamper: (s) => {
    (s.predicate as { runDetails: { builder: { id: string } } }).runDetails.builder.id =
      'https://evil.example/builder@v1';
  },
});
const gatedImage = await buildAndAttest(registry, repos.gated, { tag: 'v1.0.0', seed: `${run}-gated`, key });

const { worker, metricsUrl } = await startWorker();
const archive = await openArchive(config.mongoUri, config.database);
try {
  const release = (r: string) => `${registryHost}/${r.replace('staging/', 'release/')}`;

  const published = cli([
    'publish',
    '--image',
    `${registryHost}/${repos.app}:v1.0.0`,
    '--to',
    release(repos.app),
    '--requester',
    'ci-bot',
  ]);
  expect('a correctly built image is published (exit 0)', published.status === 0);
  const appRelease = repos.app.replace('staging/', 'release/');
  const inRelease = await registry.resolve(appRelease, 'v1.0.0').then(
    (r) => r.digest === app.digest,
    () => false,
  );
  const referrers = await listReferrers(registry, appRelease, app.digest).catch(() => []);
  const types = referrers.map((r) => r.annotations?.['dev.sigstore.bundle.predicateType']);
  expect(
    'its image, VSA and provenance are in the release repository',
    inRelease &&
      types.includes('https://slsa.dev/verification_summary/v1') &&
      types.includes('https://slsa.dev/provenance/v1'),
  );

  const denied = cli([
    'publish',
    '--image',
    `${registryHost}/${repos.tampered}:v1.0.0`,
    '--to',
    release(repos.tampered),
    '--requester',
    'ci-bot',
  ]);
  expect('tampered provenance is denied (exit 1)', denied.status === 1);
  const tamperedRelease = repos.tampered.replace('staging/', 'release/');
  const leaked = await registry.resolve(tamperedRelease, tampered.digest).then(
    () => true,
    () => false,
  );
  const deniedDecisions = await archive.findDecisionsByDigest(tampered.digest);
  expect(
    'nothing of it was published, and the denial is archived',
    !leaked && deniedDecisions.some((d) => d.status === 'denied'),
  );

  const pending = cli([
    'publish',
    '--image',
    `${registryHost}/${repos.gated}:v1.0.0`,
    '--to',
    release(repos.gated),
    '--requester',
    'ci-bot',
  ]);
  expect('a publish that needs approval waits (exit 3)', pending.status === 3);
  const workflowId = publishWorkflowId(
    registryHost,
    repos.gated.replace('staging/', 'release/'),
    gatedImage.digest,
  );
  const approved = cli(['approve', workflowId, '--reason', 'release reviewed in the demo'], {
    SLSA_GATE_USER: 'release-manager',
  });
  expect('it is approved through the CLI', approved.status === 0);
  const status = cli(['status', workflowId]);
  expect('and then published (status exit 0)', status.status === 0 && status.out.includes('PUBLISHED'));

  const families = [
    'slsa_gate_decisions_total',
    'slsa_gate_publish_step_duration_seconds',
    'slsa_gate_publish_duration_seconds',
    'slsa_gate_verification_duration_seconds',
    'slsa_gate_attestor_lookups_total',
    'slsa_gate_attestor_cache_hits_total',
    'slsa_gate_approvals_waiting',
    'slsa_gate_approvals_oldest_wait_seconds',
  ];
  const exposition = await fetch(metricsUrl).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
  const present = seriesWithSamples(exposition, families);
  expect(
    `the worker's /metrics has its decision, step, publish, verification, attestor and approval series (${present.length}/${families.length})`,
    present.length === families.length,
  );
  console.log(`  the worker's JSON log (one line per step): ${workerLog}`);

  console.log(`\nTemporal Web UI: ${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows`);
  console.log(
    '  filter with: PublishStatus="Published" or ArtifactDigest="<digest>"; each run shows its steps and checks.',
  );
  console.log(`Audit the archive: npx slsa-gate audit list --repository ${registryHost}/${repos.app}`);
} finally {
  worker.kill('SIGTERM');
  await archive.close();
}

const failed = results.filter(([, ok]) => !ok);
console.log(
  failed.length === 0
    ? '\ndemo: all three publishes behaved as expected'
    : `\ndemo: ${failed.length} expectation(s) failed`,
);
process.exit(failed.length === 0 ? 0 : 1);

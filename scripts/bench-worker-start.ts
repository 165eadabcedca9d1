/**
 * `npm run bench:worker-start`: how long `slsa-gate worker` takes from its spawn to a
 * worker ready to poll (its "task queue … on …" line, printed once Worker.create has loaded
 * the workflow bundle and connected), and the CPU it spent until then. With
 * `--compare-sources`, the same for the worker run from the TypeScript sources through tsx,
 * which bundles the workflows with webpack at start (the development path).
 *
 * Runs against the local services (scripts/services.sh; TEMPORAL_ADDRESS, MONGODB_URI
 * override them) with a demo policy, trust map and VSA key made in a temporary folder.
 * The worker measured is the package installed from `npm pack` (.data/bench-cli), or
 * `--cli PATH`. Writes the "worker-start" section of docs/benchmarks.md unless --no-write.
 *
 * Options: --iterations N (default 5), --cli PATH, --compare-sources, --no-write.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBuilderKey, demoPolicy, demoTrustMap } from '../src/demo/demo-builder.ts';
import { ensureDevSigningKey } from '../src/signing/signing-key.ts';
import { installTarball, packPackage } from '../test/helpers/installed-package.ts';
import { ensureServices, services, uniqueName } from '../test/helpers/services.ts';
import { loadAverage, median, reportSection } from './benchmarks-doc.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Linux reports a process's CPU time in clock ticks of 1/100 s (/proc/<pid>/stat, USER_HZ). */
const TICK_MS = 10;

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '5' },
    cli: { type: 'string' },
    'compare-sources': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const iterations = Number(values.iterations);
if (!Number.isInteger(iterations) || iterations < 1)
  throw new Error('--iterations must be a positive integer');

ensureServices();
let cli = values.cli;
if (cli === undefined) {
  console.error('bench:worker-start: npm pack and install into .data/bench-cli …');
  const packed = await packPackage(join(ROOT, '.data/bench-cli'));
  cli = await installTarball(packed.tarball, join(ROOT, '.data/bench-cli/app'));
}

// What a worker needs to start: a policy that names its signers, the trust map, a VSA key.
const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-worker-'));
const key = createBuilderKey();
const builderKeyFile = join(dir, 'builder.pub');
writeFileSync(builderKeyFile, key.publicKeyPem);
const trustMapFile = join(dir, 'trust-map.json');
writeFileSync(trustMapFile, JSON.stringify(demoTrustMap(key.keyId)));
const policyFile = join(dir, 'policy.json');
writeFileSync(policyFile, demoPolicy(['127.0.0.1:5000/staging/bench-worker-start']));
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? dir,
  TEMPORAL_ADDRESS: services.temporalAddress,
  TEMPORAL_NAMESPACE: services.temporalNamespace,
  MONGODB_URI: services.mongoUri,
  SLSA_GATE_TASK_QUEUE: uniqueName('bench-worker-start'),
  SLSA_GATE_POLICY: policyFile,
  SLSA_GATE_TRUST_MAP: trustMapFile,
  SLSA_GATE_PUBLIC_KEYS: `${key.keyId}=${builderKeyFile}`,
  SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(dir, 'vsa-key.pem')),
};

/** CPU time (user + system) of a live process so far, from /proc/<pid>/stat. */
function cpuMsOf(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Starts a worker, returns when it is ready with the time and CPU it took, and stops it. */
async function startOnce(argv: string[]): Promise<{ readyMs: number; cpuMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ready = await new Promise<{ readyMs: number; cpuMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 300 s:\n${stderr}`)), 300_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/slsa-gate worker: task queue /.test(stderr)) {
        clearTimeout(timer);
        resolve({ readyMs: performance.now() - started, cpuMs: cpuMsOf(child.pid!) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with ${code} before it was ready:\n${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return ready;
}

const variants: Array<{ label: string; argv: string[] }> = [
  {
    label: `\`slsa-gate worker\` (${values.cli === undefined ? 'installed package' : `\`${values.cli}\``}, prebuilt workflow bundle)`,
    argv: [cli, 'worker'],
  },
];
if (values['compare-sources']) {
  variants.push({
    label: '`node --import tsx src/workers/main.ts` (sources, webpack at start)',
    argv: ['--import', 'tsx', join(ROOT, 'src/workers/main.ts')],
  });
}
const rows: string[] = [];
try {
  for (const v of variants) {
    const runs = [];
    for (let i = 0; i < iterations; i++) {
      const r = await startOnce(v.argv);
      runs.push(r);
      console.log(`${v.label}: ready in ${r.readyMs.toFixed(0)} ms, ${r.cpuMs} ms CPU`);
    }
    rows.push(
      `| ${v.label} | ${median(runs.map((r) => r.readyMs)).toFixed(0)} | ${median(runs.map((r) => r.cpuMs)).toFixed(0)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

reportSection(
  'worker-start',
  [
    '## worker start',
    '',
    `\`npm run bench:worker-start\` (scripts/bench-worker-start.ts), ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpus().length} cores (load average ${loadAverage()}), ${iterations} starts each: from spawn to the worker's ready line (workflow code loaded, connected to Temporal and the archive).`,
    '',
    '| worker | ready in ms (median) | CPU ms until ready (median) |',
    '|---|---:|---:|',
    ...rows,
  ],
  !values['no-write'],
);

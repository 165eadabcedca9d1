/**
 * `npm run bench:cli`: `slsa-gate verify` as a whole process against the consumers' own
 * tools on the same inputs, interleaved in one run:
 *
 * - a real Sigstore bundle (slsa-verifier's `gha-generic-v2.1.0-dispatch-valid`: SLSA v0.2
 *   provenance from slsa-github-generator, Rekor v1 entry, public-good root) against
 *   `cosign verify-blob-attestation`;
 * - a key-signed VSA (DSSE, ECDSA P-256, made here with a fresh key) against
 *   `slsa-verifier verify-vsa`.
 *
 * Prints wall and CPU time (user + system of the process and its children) per run, their
 * medians and the ratio to the other tool, and writes the "cli" section of docs/benchmarks.md.
 * The slsa-gate measured is the package as installed from `npm pack` (.data/bench-cli), or
 * `--cli PATH`. cosign and slsa-verifier come from `bash scripts/interop-tools.sh`
 * (.tools/interop); without them only slsa-gate is measured.
 *
 * Options: --iterations N (default 15), --cli PATH, --no-write (print only).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findCases, flagsFor } from '../test/helpers/corpus-cli-args.ts';
import { installTarball, packPackage } from '../test/helpers/installed-package.ts';
import { makeKey, signEnvelope, vsaStatement } from '../test/helpers/vsa-fixtures.ts';
import { loadAverage, median, reportSection } from './benchmarks-doc.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = join(ROOT, '.tools/interop');
const CASE = 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid';
// The signing identity of the case's certificate (slsa-github-generator's generic workflow at v2.1.0).
const CASE_IDENTITY =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '15' },
    cli: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const iterations = Number(values.iterations);
if (!Number.isInteger(iterations) || iterations < 1)
  throw new Error('--iterations must be a positive integer');

interface Sample {
  wallMs: number;
  cpuMs: number;
}

interface Contender {
  label: string;
  argv: string[];
  samples: Sample[];
}

const scratch = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-cli-'));
// cosign and slsa-verifier run offline: a HOME of their own (no cached TUF root), no proxy settings.
const toolEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, NO_COLOR: '1' };

/**
 * Runs `argv` once under bash, which reports the wall time around it ($EPOCHREALTIME) and the
 * CPU time of the processes it waited for (`times`, second line), so the figure covers the
 * whole process tree and nothing of this script.
 */
function measure(argv: string[], expectStatus = 0): Sample {
  const script =
    's=$EPOCHREALTIME; "$@" >"$BENCH_OUT" 2>&1; rc=$?; e=$EPOCHREALTIME; times; echo "$s $e $rc"';
  const out = join(scratch, 'out.txt');
  const run = spawnSync('bash', ['-c', script, 'bench', ...argv], {
    encoding: 'utf8',
    env: { ...toolEnv, BENCH_OUT: out },
  });
  const lines = run.stdout.trim().split('\n');
  const [start, end, rc] = lines[2]!.split(' ');
  if (Number(rc) !== expectStatus) {
    throw new Error(`${argv.join(' ')} exited ${rc}:\n${readFileSync(out, 'utf8').slice(0, 2000)}`);
  }
  const seconds = (field: string) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(field)!;
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const [user, system] = lines[1]!.split(' ');
  return {
    wallMs: (Number(end) - Number(start)) * 1000,
    cpuMs: (seconds(user!) + seconds(system!)) * 1000,
  };
}

// The slsa-gate under test: the package as installed from `npm pack`, or the one given.
let cli = values.cli;
if (cli === undefined) {
  console.error('bench:cli: npm pack and install into .data/bench-cli …');
  const packed = await packPackage(join(ROOT, '.data/bench-cli'));
  cli = await installTarball(packed.tarball, join(ROOT, '.data/bench-cli/app'));
}

// Inputs 1: the corpus bundle, with the CLI arguments its upstream test amounts to.
const bundleCase = findCases(join(ROOT, 'test/fixtures/corpus')).find((c) => c.name === CASE);
if (!bundleCase) throw new Error(`corpus case ${CASE} is missing`);
const bundleFile = join(bundleCase.dir, 'provenance.intoto.jsonl');
const artifactFile = join(bundleCase.dir, 'artifact');
const trustedRoot = join(ROOT, 'test/fixtures/corpus/_trust/sigstore-public-good-trusted_root.json');

// Inputs 2: a VSA for a digest, signed with a key made now (how: test/helpers/vsa-fixtures.ts).
const key = makeKey('');
const keyFile = join(scratch, 'vsa-key.pub.pem');
writeFileSync(keyFile, key.publicKeyPem);
const subject = `sha256:${'5e'.repeat(32)}`;
const verifierId = 'https://slsa-gate.example/verifier';
const resourceUri = 'oci://registry.example/release/app';
const vsaFile = join(scratch, 'vsa.dsse.json');
writeFileSync(
  vsaFile,
  JSON.stringify(
    signEnvelope(
      vsaStatement({
        digest: { sha256: subject.slice('sha256:'.length) },
        resourceUri,
        verifierId,
        levels: ['SLSA_BUILD_LEVEL_2'],
      }),
      key,
    ),
  ),
);
const vsaExpectations = ['--verifier-id', verifierId, '--resource-uri', resourceUri, '--verified-level'];

const contenders: Record<string, Contender> = {
  gateBundle: {
    label: 'slsa-gate verify (bundle)',
    argv: [cli, ...flagsFor(bundleCase.dir, bundleCase.spec).filter((a) => a !== '--json')],
    samples: [],
  },
  cosign: {
    label: 'cosign verify-blob-attestation',
    argv: [
      join(TOOLS, 'cosign'),
      'verify-blob-attestation',
      '--bundle',
      bundleFile,
      '--new-bundle-format',
      '--trusted-root',
      trustedRoot,
      '--certificate-identity',
      CASE_IDENTITY,
      '--certificate-oidc-issuer',
      GITHUB_ISSUER,
      '--type',
      'slsaprovenance02',
      artifactFile,
    ],
    samples: [],
  },
  gateVsa: {
    label: 'slsa-gate verify --mode vsa',
    argv: [
      cli,
      'verify',
      '--digest',
      subject,
      '--attestation',
      vsaFile,
      '--public-key',
      keyFile,
      '--mode',
      'vsa',
      ...vsaExpectations,
      'SLSA_BUILD_LEVEL_2',
    ],
    samples: [],
  },
  slsaVerifier: {
    label: 'slsa-verifier verify-vsa',
    argv: [
      join(TOOLS, 'slsa-verifier'),
      'verify-vsa',
      '--subject-digest',
      subject,
      '--attestation-path',
      vsaFile,
      '--public-key-path',
      keyFile,
      ...vsaExpectations,
      'SLSA_BUILD_LEVEL_2',
    ],
    samples: [],
  },
};

const haveTools = existsSync(join(TOOLS, 'cosign')) && existsSync(join(TOOLS, 'slsa-verifier'));
const order = haveTools ? ['gateBundle', 'cosign', 'gateVsa', 'slsaVerifier'] : ['gateBundle', 'gateVsa'];
if (!haveTools)
  console.error('bench:cli: cosign/slsa-verifier not built (bash scripts/interop-tools.sh): slsa-gate only');

// One untimed round first: compile caches, page cache.
for (const name of order) measure(contenders[name]!.argv);
for (let i = 0; i < iterations; i++) {
  const row: string[] = [];
  for (const name of order) {
    const c = contenders[name]!;
    const s = measure(c.argv);
    c.samples.push(s);
    row.push(`${name} ${s.wallMs.toFixed(0)}/${s.cpuMs.toFixed(0)}`);
  }
  console.log(`run ${i + 1}: ${row.join('  ')}  (wall/CPU ms)`);
}

const med = (c: Contender) => ({
  wall: median(c.samples.map((s) => s.wallMs)),
  cpu: median(c.samples.map((s) => s.cpuMs)),
});
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
const table = [
  '| command | wall ms (median) | CPU ms (median) | wall vs. other tool | CPU vs. other tool |',
  '|---|---:|---:|---:|---:|',
];
const pairs: Array<[string, string]> = [
  ['gateBundle', 'cosign'],
  ['gateVsa', 'slsaVerifier'],
];
for (const [gate, other] of pairs) {
  const g = med(contenders[gate]!);
  const o = haveTools ? med(contenders[other]!) : undefined;
  table.push(
    `| ${contenders[gate]!.label} | ${g.wall.toFixed(0)} | ${g.cpu.toFixed(0)} | ${o ? ratio(g.wall, o.wall) : '–'} | ${o ? ratio(g.cpu, o.cpu) : '–'} |`,
  );
  if (o) table.push(`| ${contenders[other]!.label} | ${o.wall.toFixed(0)} | ${o.cpu.toFixed(0)} | 1× | 1× |`);
}
const node = measure(['node', '-e', '0']);
reportSection(
  'cli',
  [
    '## cli',
    '',
    `\`npm run bench:cli\` (scripts/bench-cli.ts), ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpus().length} cores (load average ${loadAverage()}), ${iterations} interleaved runs of each command, whole processes.`,
    `Bundle: corpus \`${CASE}\` (1.4 MB artifact); VSA: DSSE, ECDSA P-256, made by the bench. slsa-gate: ${values.cli === undefined ? 'the package installed from \`npm pack\`' : `\`${values.cli}\``}.`,
    '',
    ...table,
    '',
    `For scale: \`node -e 0\` took ${node.wallMs.toFixed(0)} ms wall, ${node.cpuMs.toFixed(0)} ms CPU in the same run.`,
  ],
  !values['no-write'],
);

/**
 * The package as a user gets it: `npm pack` of this checkout, installed from the tarball
 * into an empty folder, runs `npx slsa-gate verify` on a corpus case and starts its worker
 * on the prebuilt workflow bundle; the tarball holds built code, run-time assets and docs,
 * never tests, fixtures, keys or local data. The CLI and worker benches run once, tiny, on
 * the installed package (their figures are for docs/benchmarks.md, not asserted here).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findCases, flagsFor } from '../../helpers/corpus-cli-args.ts';
import { installTarball, packPackage, type PackedPackage } from '../../helpers/installed-package.ts';
import { ensureServices } from '../../helpers/services.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const execFileAsync = promisify(execFile);

/** Runs a command to its end without blocking the runner; its exit status and output. */
async function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; timeout: number },
): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, {
      ...opts,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return {
      status: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(err),
    };
  }
}
const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-pack-'));
let packed: PackedPackage;
let cli: string;

before(async () => {
  ensureServices();
  packed = await packPackage(join(dir, 'out'));
  cli = await installTarball(packed.tarball, join(dir, 'app'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the tarball holds built code, run-time assets, docs and the licence only', () => {
  const forbidden = [
    /^test\//,
    /(^|\/)fixtures\//,
    /^src\//,
    /\.ts$/,
    /^scripts\//,
    /^\.data\//,
    /^\.tools\//,
    /(^|\/)node_modules\//,
    /\.(pem|key|p12|pfx)$/,
    /(^|\/)\.env/,
    /^dist\/\.|\.inputs\.json$/,
  ];
  for (const file of packed.files) {
    const match = forbidden.find((re) => re.test(file));
    assert.equal(match, undefined, `${file} must not be in the package`);
  }
  for (const file of [
    'package.json',
    'README.md',
    'LICENSE',
    'bin/slsa-gate.js',
    'dist/cli/main.mjs',
    // The bulk runs' verification threads start from it (src/audit/verify-pool.ts).
    'dist/cli/verify-worker.mjs',
    'dist/workflow-bundle.js',
    'dist/THIRD-PARTY-NOTICES.txt',
    'assets/trust/sigstore-public-good-trusted_root.json',
    'assets/trust/npm-registry-keys.json',
  ]) {
    assert.ok(packed.files.includes(file), `${file} is in the package`);
  }
});

test('npx slsa-gate verify passes a corpus case from the installed package', async () => {
  const c = findCases(join(ROOT, 'test/fixtures/corpus')).find(
    (x) => x.name === 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid',
  );
  assert.ok(c, 'the corpus case exists');
  const verify = await run('npx', ['--offline', 'slsa-gate', ...flagsFor(c.dir, c.spec)], {
    cwd: join(dir, 'app'),
    timeout: 120_000,
  });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.equal((JSON.parse(verify.stdout) as { outcome: string }).outcome, 'PASSED');
  const version = await run(cli, ['version'], { cwd: join(dir, 'app'), timeout: 60_000 });
  assert.match(version.stdout, /^slsa-gate \d+\.\d+\.\d+ /);
});

test('bench:cli runs on the installed CLI and prints wall and CPU figures', async () => {
  const bench = await run(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts/bench-cli.ts'), '--iterations', '2', '--cli', cli, '--no-write'],
    { cwd: ROOT, timeout: 600_000 },
  );
  assert.equal(bench.status, 0, bench.stdout + bench.stderr);
  assert.match(bench.stdout, /^\| slsa-gate verify \(bundle\) \| \d+ \| \d+ \|/m);
  assert.match(bench.stdout, /^\| slsa-gate verify --mode vsa \| \d+ \| \d+ \|/m);
  assert.match(bench.stdout, /`node -e 0` took \d+ ms wall, \d+ ms CPU/);
});

test('bench:worker-start starts the installed worker on its prebuilt workflow bundle', async () => {
  const bench = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'scripts/bench-worker-start.ts'),
      '--iterations',
      '1',
      '--cli',
      cli,
      '--no-write',
    ],
    { cwd: ROOT, timeout: 600_000 },
  );
  assert.equal(bench.status, 0, bench.stdout + bench.stderr);
  // The row names the CLI it measured: the installed package's bin.
  const escaped = cli.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(
    bench.stdout,
    new RegExp(
      `^\\| \`slsa-gate worker\` \\(\`${escaped}\`, prebuilt workflow bundle\\) \\| \\d+ \\| \\d+ \\|`,
      'm',
    ),
  );
});

/**
 * The package as a user gets it: `npm pack` of this checkout (its prepack script builds
 * dist/ and drops chunks of earlier builds), installed from the tarball into a folder of
 * its own. Used by the package test and by the CLI and worker benches, which measure the
 * installed CLI rather than the checkout's (whose bin also checks dist/ against src/).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Asynchronous: packing and installing take a minute, during which a test runner's timers keep running.
const run = promisify(execFile);

/** What `npm pack --json` reports about the tarball. */
export interface PackedPackage {
  tarball: string;
  /** Paths inside the package, as the tarball lists them. */
  files: string[];
  size: number;
}

/** `npm pack` of this checkout into `outDir`. */
export async function packPackage(outDir: string): Promise<PackedPackage> {
  mkdirSync(outDir, { recursive: true });
  const { stdout: out } = await run('npm', ['pack', '--json', '--pack-destination', outDir], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const [report] = JSON.parse(out) as Array<{
    filename: string;
    size: number;
    files: Array<{ path: string }>;
  }>;
  if (!report) throw new Error('npm pack reported no package');
  return {
    tarball: join(outDir, report.filename),
    files: report.files.map((f) => f.path),
    size: report.size,
  };
}

/**
 * Installs `tarball` into `appDir` (an npm project of its own, created when missing) and
 * returns the path of its `slsa-gate` command. Dependencies come from the npm cache where it
 * holds them (`--prefer-offline`), else from the registry. A folder that already holds this
 * very tarball is reused.
 */
export async function installTarball(tarball: string, appDir: string): Promise<string> {
  const digest = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  const stamp = join(appDir, '.installed-tarball');
  const bin = join(appDir, 'node_modules', '.bin', 'slsa-gate');
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return bin;
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(appDir, { recursive: true });
  writeFileSync(join(appDir, 'package.json'), '{ "name": "slsa-gate-install", "private": true }\n');
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
    cwd: appDir,
    maxBuffer: 64 << 20,
  });
  writeFileSync(stamp, digest);
  return bin;
}

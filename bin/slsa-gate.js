#!/usr/bin/env node
// Entry point of the slsa-gate CLI: runs the built JavaScript (dist/, scripts/build.js) with
// Node's compile cache, so a start compiles no TypeScript and, from the second run on, parses
// no JavaScript either. Re-runs itself under the project's Node 24 when started by an older Node.
import module from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

module.enableCompileCache?.();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor, patch] = process.versions.node.split('.').map(Number);
const recent =
  (major === 22 && (minor > 22 || (minor === 22 && patch >= 2))) ||
  (major === 24 && minor >= 15) ||
  major > 24;

if (!recent) {
  const projectNode = join(root, '.tools/node/bin/node');
  if (!existsSync(projectNode)) {
    // In a checkout, set-up installs a recent Node into .tools/; an installed package needs one on PATH.
    const hint = existsSync(join(root, 'scripts/setup.sh')) ? '; run: bash scripts/setup.sh' : '';
    console.error(`slsa-gate: Node ${process.versions.node} is too old (needs ^22.22.2 or >=24.15)${hint}`);
    process.exit(2);
  }
  const { spawnSync } = await import('node:child_process');
  const child = spawnSync(projectNode, process.argv.slice(1), { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

// A source checkout (an installed package ships dist/ and no build script): rebuild what a
// source newer than dist/ made stale, so the CLI run here is never older than src/.
const build = join(root, 'scripts/build.js');
if (existsSync(build)) {
  try {
    const { ensureBuilt } = await import(build);
    await ensureBuilt({ cliOnly: process.argv[2] !== 'worker', quiet: true });
  } catch (err) {
    console.error(`slsa-gate: cannot build dist/ from the sources (npm run build): ${err.message}`);
    process.exit(1);
  }
}

await import('../dist/cli/main.mjs');

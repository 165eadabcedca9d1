#!/usr/bin/env node
// Entry point of the slsa-gate CLI. Re-runs itself under the project's Node 24
// when started by an older Node, then loads the TypeScript sources through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor, patch] = process.versions.node.split('.').map(Number);
const recent =
  (major === 22 && (minor > 22 || (minor === 22 && patch >= 2))) ||
  (major === 24 && minor >= 15) ||
  major > 24;

if (!recent) {
  const projectNode = join(root, '.tools/node/bin/node');
  if (!existsSync(projectNode)) {
    console.error(
      `slsa-gate: Node ${process.versions.node} is too old (needs ^22.22.2 or >=24.15); run: bash scripts/setup.sh`,
    );
    process.exit(2);
  }
  const child = spawnSync(projectNode, process.argv.slice(1), { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');

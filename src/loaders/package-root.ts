/**
 * Where the package's own files are (package.json, assets/, dist/): the nearest directory
 * above this module that holds a package.json. Found, not assumed: the same code runs from
 * the TypeScript sources (src/loaders/), from the bundle scripts/build.js writes (dist/chunks/)
 * and from an installed package (node_modules/slsa-gate/dist/chunks/), each at its own depth.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The package's root directory. */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** A file shipped with the package, by its path from the package root (`assets/trust/…`). */
export function packageFile(path: string): string {
  return join(PACKAGE_ROOT, path);
}

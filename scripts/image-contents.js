// @ts-check
/**
 * What the gate's image holds under /app, chosen in one place for both ways the image is made:
 * the Dockerfile's build stage copies this selection (`--copy-to`), and scripts/image/ packs it
 * into layers where no Docker engine runs (docs/operations.md#the-image).
 *
 * - the built JavaScript: bin/slsa-gate.js, bin/healthcheck.js and the dist/ files the CLI loads
 *   (the module bin/slsa-gate.js imports and the chunks it imports, the workflow bundle, the
 *   third-party notices);
 *   stale chunks of earlier builds, build stamps and locks stay out;
 * - assets/ (the pinned Sigstore trust roots), package.json, LICENSE;
 * - the production dependencies exactly as `npm ci --omit=dev` lays them out: every
 *   package-lock.json entry that is neither `dev` nor `devOptional` and is installed, without its
 *   own nested node_modules (those are entries of their own); less what no run on the image's
 *   platform can load: the Temporal core bridge's prebuilt libraries for other platforms and the
 *   Rust sources it ships for building from source.
 *
 * Never: sources, tests, scripts, .data/, .tools/, keys, dev dependencies.
 */
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Temporal core bridge's prebuilt library directory per image architecture (Docker TARGETARCH). */
const CORE_BRIDGE_TARGET = { amd64: 'x86_64-unknown-linux-gnu', arm64: 'aarch64-unknown-linux-gnu' };
const CORE_BRIDGE = 'node_modules/@temporalio/core-bridge';

/** Top-level files of the package, besides bin/, dist/ and assets/. */
const PACKAGE_FILES = ['package.json', 'LICENSE'];
const BIN_FILES = ['bin/slsa-gate.js', 'bin/healthcheck.js'];
/** dist/ files besides the CLI's import graph. */
const DIST_FILES = ['dist/workflow-bundle.js', 'dist/THIRD-PARTY-NOTICES.txt'];

/**
 * @typedef {{ path: string, kind: 'file' | 'symlink', mode: number, size: number }} AppFile
 * A file of /app: `path` relative to the project root and to /app alike.
 */

/** @param {string} root @param {string} path @returns {AppFile} */
function entry(root, path) {
  const stat = lstatSync(join(root, path));
  if (stat.isSymbolicLink()) return { path, kind: 'symlink', mode: 0o777, size: 0 };
  if (!stat.isFile()) throw new Error(`image contents: ${path} is not a file`);
  // Only the owner's execute bit matters; files are world-readable, never writable but by root.
  return { path, kind: 'file', mode: stat.mode & 0o100 ? 0o755 : 0o644, size: stat.size };
}

/** Every file under `dir` (relative to root), skipping directories for which `skip` says so. */
function walk(
  /** @type {string} */ root,
  /** @type {string} */ dir,
  /** @type {(p: string) => boolean} */ skip,
) {
  /** @type {string[]} */
  const out = [];
  for (const d of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = posix.join(dir, d.name);
    if (skip(path)) continue;
    if (d.isDirectory()) out.push(...walk(root, path, skip));
    else out.push(path);
  }
  return out;
}

/**
 * The dist/ files the CLI loads: what bin/slsa-gate.js imports from dist/ and every module those
 * import, statically or dynamically, by relative specifier. Stale chunks of earlier builds stay out.
 */
function cliGraph(/** @type {string} */ root) {
  const importsOf = (/** @type {string} */ file) =>
    [
      ...readFileSync(join(root, file), 'utf8').matchAll(
        /(?:from|import\()\s*["'](\.{1,2}\/[^"']+\.m?js)["']/g,
      ),
    ].map((m) => posix.normalize(posix.join(posix.dirname(file), /** @type {string} */ (m[1]))));
  const entries = importsOf('bin/slsa-gate.js').filter((f) => f.startsWith('dist/'));
  if (entries.length === 0) throw new Error('image contents: bin/slsa-gate.js imports nothing from dist/');
  const seen = new Set(entries);
  const queue = [...entries];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    for (const target of importsOf(file)) {
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return [...seen];
}

/** The installed production packages, as package-lock.json paths (`node_modules/…`). */
export function productionPackages(root = ROOT) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  return Object.entries(lock.packages)
    .filter(([path, e]) => path.startsWith('node_modules/') && !e.dev && !e.devOptional && !e.link)
    .map(([path]) => path)
    .filter((path) => {
      try {
        return lstatSync(join(root, path)).isDirectory();
      } catch {
        return false; // an optional package for another platform, not installed
      }
    })
    .sort();
}

/** The files of /app for an image of `arch` (`amd64` or `arm64`), sorted by path. */
export function appFiles(root = ROOT, arch = 'amd64') {
  const target = CORE_BRIDGE_TARGET[/** @type {keyof typeof CORE_BRIDGE_TARGET} */ (arch)];
  if (!target) throw new Error(`image contents: no Temporal core bridge for architecture ${arch}`);
  const packages = productionPackages(root);
  const skipInPackage = (/** @type {string} */ path) =>
    // Nested node_modules are lock entries of their own, selected (or not) by their flags.
    posix.basename(path) === 'node_modules' ||
    path === `${CORE_BRIDGE}/sdk-core` ||
    (posix.dirname(path) === `${CORE_BRIDGE}/releases` && posix.basename(path) !== target);
  const paths = [
    ...PACKAGE_FILES,
    ...BIN_FILES,
    ...cliGraph(root),
    ...DIST_FILES,
    ...walk(root, 'assets', () => false),
    ...packages.flatMap((pkg) => walk(root, pkg, skipInPackage)),
  ];
  return [...new Set(paths)].sort().map((path) => entry(root, path));
}

/** Copies the selection to `dest` (the Dockerfile's build stage), symlinks as symlinks. */
export function copyAppFiles(/** @type {string} */ dest, root = ROOT, arch = 'amd64') {
  for (const file of appFiles(root, arch)) {
    const to = join(dest, file.path);
    mkdirSync(dirname(to), { recursive: true });
    if (file.kind === 'symlink') symlinkSync(readlinkSync(join(root, file.path)), to);
    else {
      copyFileSync(join(root, file.path), to);
      chmodSync(to, file.mode);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (/** @type {string} */ flag) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const arch = value('--arch') || 'amd64';
  const dest = value('--copy-to');
  if (dest) copyAppFiles(dest, ROOT, arch);
  else for (const f of appFiles(ROOT, arch)) console.log(f.path);
}

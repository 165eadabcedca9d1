// @ts-check
/**
 * Builds the JavaScript the package runs, so nothing compiles TypeScript at start:
 *
 * - dist/cli/main.mjs and dist/chunks/: the CLI (every command, the worker, the API) bundled by
 *   esbuild from src/; dist/cli/verify-worker.mjs: the entry of the bulk runs' verification threads. Each command stays its own chunk, loaded only when it runs. Pure
 *   JavaScript libraries are bundled in (tree-shaken: zod's import alone costs ~80 ms of CPU for
 *   its locales); packages with native code or their own runtime loading stay external and are
 *   the package's `dependencies` (EXTERNAL below).
 * - dist/workflow-bundle.js: the workflow code bundled by the Temporal SDK (`bundleWorkflowCode`),
 *   which the worker loads instead of running webpack at every start.
 * - dist/THIRD-PARTY-NOTICES.txt: name, version and licence of every library bundled in.
 *
 * `node scripts/build.js` builds everything; `--if-stale` only what a newer input made stale;
 * `--cli-only` skips the workflow bundle; `--prune` removes chunks of earlier builds (prepack). bin/slsa-gate.js calls ensureBuilt() in a source
 * checkout, so the CLI that tests spawn is never older than src/.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const CLI_STAMP = join(DIST, '.cli-built');
const WORKFLOW_BUNDLE = join(DIST, 'workflow-bundle.js');
const WORKFLOW_INPUTS = join(DIST, 'workflow-bundle.inputs.json');
const LOCK = join(DIST, '.build-lock');
/** Inputs of every output besides its sources: the build itself and the locked dependency versions. */
const BUILD_INPUTS = ['scripts/build.js', 'package.json', 'package-lock.json', 'tsconfig.json'];

/**
 * Loaded from node_modules at run time: native code (@temporalio/worker's core bridge,
 * @duckdb/node-api), drivers that load optional modules by name (mongodb), and @sigstore/tuf,
 * which only `trust refresh` loads, with its HTTP stack.
 */
const EXTERNAL = ['@temporalio/*', 'mongodb', '@duckdb/*', '@sigstore/tuf'];

// CommonJS libraries bundled into ES modules call require() for Node built-ins.
const REQUIRE_SHIM =
  "import { createRequire as __slsaGateCreateRequire } from 'node:module'; const require = __slsaGateCreateRequire(import.meta.url);";

/** @param {string} path */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** The newest modification time among files under `dir` (relative to the root). */
function newestUnder(/** @type {string} */ dir) {
  let newest = 0;
  const base = join(ROOT, dir);
  for (const entry of readdirSync(base, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function newestBuildInput() {
  return Math.max(...BUILD_INPUTS.map((f) => mtime(join(ROOT, f))));
}

/** Whether dist/cli is missing or older than a source or build input. */
export function cliStale() {
  const built = existsSync(join(DIST, 'cli/main.mjs')) ? mtime(CLI_STAMP) : Infinity;
  return built === Infinity || Math.max(newestUnder('src'), newestBuildInput()) > built;
}

/** Whether the workflow bundle is missing or older than a file it was built from. */
export function workflowBundleStale() {
  if (!existsSync(WORKFLOW_BUNDLE) || !existsSync(WORKFLOW_INPUTS)) return true;
  const inputs = /** @type {string[]} */ (JSON.parse(readFileSync(WORKFLOW_INPUTS, 'utf8')));
  const built = mtime(WORKFLOW_BUNDLE);
  return [...inputs, ...BUILD_INPUTS].some((f) => mtime(join(ROOT, f)) > built);
}

/** Writes a file whole or not at all: a process starting meanwhile reads the old file or the new one. */
function writeAtomic(/** @type {string} */ path, /** @type {string | Uint8Array} */ contents) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/** The package directory (node_modules/<name> or node_modules/@scope/<name>) a bundled input came from. */
function packageDirOf(/** @type {string} */ input) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m ? m[1] : undefined;
}

/** Name, version, licence and licence text of every package bundled in. */
function thirdPartyNotices(/** @type {string[]} */ inputs) {
  const dirs = [...new Set(inputs.map(packageDirOf).filter((d) => d !== undefined))].sort();
  const sections = dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    const licenceFile = readdirSync(join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = licenceFile
      ? readFileSync(join(ROOT, dir, licenceFile), 'utf8').trim()
      : '(no licence file shipped)';
    return `${pkg.name} ${pkg.version} (${pkg.license ?? 'licence not stated'})\n\n${text}\n`;
  });
  return `slsa-gate bundles these libraries into dist/ (scripts/build.js):\n\n${sections.join('\n' + '-'.repeat(72) + '\n\n')}`;
}

async function buildCli() {
  const started = Date.now();
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    // The verification pool's threads start from their own entry (src/audit/verify-pool.ts finds it beside main.mjs).
    entryPoints: { 'cli/main': 'src/cli/main.ts', 'cli/verify-worker': 'src/audit/verify-worker.ts' },
    outdir: 'dist',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: EXTERNAL,
    chunkNames: 'chunks/[name]-[hash]',
    // .mjs: Node knows the format from the name, without looking for the package.json scope of each chunk.
    outExtension: { '.js': '.mjs' },
    banner: { js: REQUIRE_SHIM },
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const written = result.outputFiles.map((file) => file.path);
  for (const file of result.outputFiles) writeAtomic(file.path, file.contents);
  writeAtomic(join(DIST, 'THIRD-PARTY-NOTICES.txt'), thirdPartyNotices(Object.keys(result.metafile.inputs)));
  // Chunks of earlier builds stay an hour, for processes started before this build that
  // load a command's chunks later; pruneChunks() removes them at once (npm pack).
  pruneChunks(written, started - 3_600_000);
  // The stamp's time is the build's start (a source saved during the build makes it stale);
  // it lists the files this build wrote.
  writeAtomic(
    CLI_STAMP,
    `${JSON.stringify(
      written.map((path) => relative(DIST, path)),
      null,
      1,
    )}\n`,
  );
  utimesSync(CLI_STAMP, started / 1000, started / 1000);
}

/** Removes chunks the current build did not write and that are older than `before` (ms since the epoch). */
function pruneChunks(/** @type {string[]} */ current, /** @type {number} */ before) {
  const keep = new Set(current);
  const chunks = join(DIST, 'chunks');
  for (const name of readdirSync(chunks)) {
    const path = join(chunks, name);
    if (!keep.has(path) && mtime(path) < before) rmSync(path, { force: true });
  }
}

async function buildWorkflowBundle() {
  const started = Date.now();
  const workflowsPath = join(ROOT, 'src/workflows/index.ts');
  // The files the bundle is made from, for workflowBundleStale(): the same import graph, listed by esbuild.
  const esbuild = await import('esbuild');
  const graph = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [workflowsPath],
    bundle: true,
    packages: 'external',
    platform: 'neutral',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const inputs = Object.keys(graph.metafile.inputs).filter((f) => !f.includes('node_modules/'));
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  writeAtomic(WORKFLOW_BUNDLE, code);
  utimesSync(WORKFLOW_BUNDLE, started / 1000, started / 1000);
  writeAtomic(WORKFLOW_INPUTS, `${JSON.stringify(inputs, null, 1)}\n`);
}

/** Runs `fn` holding dist/.build-lock, so concurrent builds (parallel test files) do not interleave. */
async function withLock(/** @type {() => Promise<void>} */ fn) {
  mkdirSync(DIST, { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than 10 minutes belongs to a build that died.
      if (Date.now() - mtime(LOCK) > 600_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Builds what is stale (everything unless `ifStale`); the workflow bundle unless `cliOnly`;
 * with `prune`, then removes every chunk the current build did not write (what `npm pack` ships).
 */
export async function ensureBuilt({ ifStale = true, cliOnly = false, quiet = false, prune = false } = {}) {
  const say = (/** @type {string} */ line) => {
    if (!quiet) console.error(line);
  };
  const needCli = () => !ifStale || cliStale();
  const needWorkflows = () => !cliOnly && (!ifStale || workflowBundleStale());
  if (!needCli() && !needWorkflows() && !prune) return;
  await withLock(async () => {
    // Another process may have built while this one waited for the lock.
    if (needCli()) {
      const t = performance.now();
      await buildCli();
      say(`slsa-gate build: dist/cli in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    if (needWorkflows()) {
      const t = performance.now();
      say('slsa-gate build: workflow bundle (webpack)…');
      await buildWorkflowBundle();
      say(`slsa-gate build: dist/workflow-bundle.js in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    if (prune) {
      const current = /** @type {string[]} */ (JSON.parse(readFileSync(CLI_STAMP, 'utf8')));
      pruneChunks(
        current.map((path) => join(DIST, path)),
        Infinity,
      );
    }
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  await ensureBuilt({
    ifStale: args.includes('--if-stale'),
    cliOnly: args.includes('--cli-only'),
    prune: args.includes('--prune'),
  });
}

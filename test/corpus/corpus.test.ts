/**
 * The real-world corpus (test/fixtures/corpus/README.md): every case runs the real CLI,
 * `bin/slsa-gate.js verify … --json`, with flags derived from its expected.json, and
 * must reach the upstream project's expected outcome at the expected layer.
 * CORPUS_DIR selects another directory of cases in the same format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCases, flagsFor, str, TRANSPARENCY, type Case } from '../helpers/corpus-cli-args.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS_DIR = resolve(process.env.CORPUS_DIR ?? join(ROOT, 'test/fixtures/corpus'));
const CLI = join(ROOT, 'bin/slsa-gate.js');
const PARALLEL = Number(process.env.CORPUS_PARALLEL ?? Math.max(2, availableParallelism()));

interface Run {
  exit: number | null;
  stdout: string;
  stderr: string;
  failure?: { check: string; code: string; reason: string };
}

let running = 0;
const waiting: Array<() => void> = [];
async function runCli(args: string[]): Promise<Run> {
  if (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await new Promise<Run>((done) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { cwd: ROOT, maxBuffer: 32 << 20 },
        (err, stdout, stderr) => {
          const exit = err ? ((err as { code?: unknown }).code as number | null) : 0;
          let failure: Run['failure'];
          try {
            failure = (JSON.parse(stdout) as { failure?: Run['failure'] }).failure;
          } catch {
            failure = undefined;
          }
          done({
            exit: typeof exit === 'number' ? exit : null,
            stdout,
            stderr,
            ...(failure ? { failure } : {}),
          });
        },
      );
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/**
 * The layer a failing case must be rejected at, from its `failing_layer` (README: "which
 * layer must reject"): `crypto/transparency/format` before any policy, `transparency` with
 * a transparency code, `policy …` on material that verifies. The two `policy (upstream also
 * needs an online Rekor lookup first)` cases are bare envelopes: offline the lookup cannot
 * succeed, so they fail closed there, before policy.
 */
function layerOf(failingLayer: string): { layer?: 'verify' | 'policy' | 'transparency'; code?: string } {
  if (/online Rekor lookup first/.test(failingLayer)) return { code: 'TLOG_MISSING' };
  if (failingLayer.startsWith('crypto/transparency/format')) return { layer: 'verify' };
  if (failingLayer.startsWith('transparency')) return { layer: 'transparency' };
  if (failingLayer.startsWith('policy')) return { layer: 'policy' };
  throw new Error(`unknown failing_layer ${JSON.stringify(failingLayer)}`);
}

/** The outcome a case must reach offline: the upstream one, or a named fail-closed code for the ones that cannot be reached offline. */
function offlineExpectation(spec: Case): {
  expected: 'pass' | 'fail';
  code?: string;
  layer?: 'verify' | 'policy' | 'transparency';
} {
  const notes = spec.notes ?? '';
  const root = str(spec.extra_flags?.trusted_root) ?? '';
  if (spec.expected === 'pass' && /ONLINE Rekor search/.test(notes))
    return { expected: 'fail', code: 'TLOG_MISSING' };
  if (spec.expected === 'pass' && root.startsWith('NOT INCLUDED'))
    return { expected: 'fail', code: 'UNTRUSTED_SIGNER' };
  if (spec.expected === 'pass') return { expected: 'pass' };
  if (!spec.failing_layer) throw new Error('a failing case names its failing_layer');
  return { expected: 'fail', ...layerOf(spec.failing_layer) };
}

const cases = findCases(CORPUS_DIR);
test('the corpus directory holds cases', () => {
  assert.ok(cases.length > 0, `no cases under ${CORPUS_DIR}`);
});

// Start every run at once (bounded by PARALLEL); each test awaits its own.
const runs = new Map(cases.map((c) => [c.name, runCli(flagsFor(c.dir, c.spec))]));

for (const c of cases) {
  test(c.name, async (t) => {
    const run = await runs.get(c.name)!;
    const want = offlineExpectation(c.spec);
    const context = `\nargs: ${flagsFor(c.dir, c.spec).join(' ')}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}`;
    if (want.expected === 'pass') {
      assert.equal(run.exit, 0, `expected PASS${context}`);
      return;
    }
    assert.equal(run.exit, 1, `expected FAILED (exit 1)${context}`);
    assert.ok(run.failure, `a failure names its check and code${context}`);
    const { check, code } = run.failure;
    t.diagnostic(`${check}: ${code}`);
    if (want.code !== undefined) assert.equal(code, want.code, `fail-closed code${context}`);
    if (want.layer === 'verify')
      assert.equal(
        check,
        'signature',
        `must fail at the signature/transparency/format layer, failed at ${check}: ${code}${context}`,
      );
    if (want.layer === 'transparency') {
      assert.equal(check, 'signature', `must fail at the transparency layer${context}`);
      assert.ok(TRANSPARENCY.has(code), `transparency code expected, got ${code}${context}`);
    }
    if (want.layer === 'policy')
      assert.notEqual(
        check,
        'signature',
        `must verify and fail at policy, failed at ${check}: ${code}${context}`,
      );
  });
}

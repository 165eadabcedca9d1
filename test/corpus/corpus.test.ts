/**
 * The real-world corpus (test/fixtures/corpus/README.md): every case runs the real CLI,
 * `bin/slsa-gate.js verify … --json`, with flags derived from its expected.json, and
 * must reach the upstream project's expected outcome at the expected layer.
 * CORPUS_DIR selects another directory of cases in the same format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS_DIR = resolve(process.env.CORPUS_DIR ?? join(ROOT, 'test/fixtures/corpus'));
const CLI = join(ROOT, 'bin/slsa-gate.js');
const PARALLEL = Number(process.env.CORPUS_PARALLEL ?? Math.max(2, availableParallelism()));

interface Case {
  source?: string;
  case?: string;
  expected: 'pass' | 'fail';
  failing_layer?: string | null;
  upstream_error?: string | null;
  artifact_file?: string | null;
  artifact_digest?: string | null;
  files: string[];
  expected_builder_id?: string | null;
  expected_source_uri?: string | null;
  extra_flags?: Record<string, unknown>;
  notes?: string | null;
}

/** Codes of the signature, transparency and statement layers (everything before policy). */
const TRANSPARENCY = new Set(['TLOG_ERROR', 'TLOG_BODY_ERROR', 'TLOG_MISSING']);

/** Cases under `<source>/<case>/expected.json`; the source is the directory name when expected.json does not say. */
function findCases(dir: string): Array<{ name: string; dir: string; spec: Case }> {
  const out: Array<{ name: string; dir: string; spec: Case }> = [];
  for (const source of readdirSync(dir, { withFileTypes: true })) {
    if (!source.isDirectory() || source.name.startsWith('_')) continue;
    for (const c of readdirSync(join(dir, source.name), { withFileTypes: true })) {
      const caseDir = join(dir, source.name, c.name);
      if (c.isDirectory() && existsSync(join(caseDir, 'expected.json'))) {
        out.push({
          name: `${source.name}/${c.name}`,
          dir: caseDir,
          spec: {
            source: source.name,
            ...(JSON.parse(readFileSync(join(caseDir, 'expected.json'), 'utf8')) as Case),
          },
        });
      }
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The CLI arguments for a case: artifact, attestations, trust material and expectations. */
function flagsFor(dir: string, spec: Case): string[] {
  const f = spec.extra_flags ?? {};
  const args = ['verify', '--json', '--allow-v01-without-inclusion-proof'];
  // Upstream sigstore-js, slsa-verifier and the npm CLI accept v0.1 bundles with a signed entry
  // timestamp only, so the corpus runs with the opt-in that our default refuses (issue 3 (e)).
  const mode = str(f.mode);
  const subjectDigests = Array.isArray(f.subject_digests) ? (f.subject_digests as string[]) : [];
  const imageDigest = spec.files.includes('image.digest')
    ? readFileSync(join(dir, 'image.digest'), 'utf8')
        .trim()
        .replace(/^sha256:/, '')
    : undefined;
  if (spec.artifact_file) args.push('--artifact', join(dir, spec.artifact_file));
  else if (imageDigest) args.push('--digest', `sha256:${imageDigest}`);
  else if (spec.artifact_digest) args.push('--digest', `sha256:${spec.artifact_digest}`);
  for (const d of subjectDigests) args.push('--digest', d);
  const bundleOnly =
    !spec.artifact_file && !imageDigest && !spec.artifact_digest && subjectDigests.length === 0;
  if (bundleOnly) args.push('--bundle-only');

  const trustFiles = new Set([
    'trusted_root.json',
    'image.digest',
    spec.artifact_file ?? '',
    str(f.public_key) ?? '',
  ]);
  for (const file of spec.files) {
    if (trustFiles.has(file) || file.endsWith('.pem')) continue;
    if (file.startsWith('oci-layout/')) continue;
    args.push('--attestation', join(dir, file));
  }
  if (spec.files.some((file) => file.startsWith('oci-layout/')))
    args.push('--oci-layout', join(dir, 'oci-layout'));

  const root = str(f.trusted_root);
  if (root && !root.startsWith('NOT INCLUDED')) args.push('--trusted-root', join(dir, root));
  const key = str(f.public_key);
  if (key) args.push('--public-key', join(dir, key));
  const keyId = str(f.public_key_id) ?? str(f.key_hint);
  if (key && keyId) args.push('--public-key-id', keyId);
  if (str(f.npm_keys)) args.push('--npm-keys', join(dir, str(f.npm_keys)!));
  if (str(f.gcb_keys_dir)) args.push('--gcb-keys-dir', join(dir, str(f.gcb_keys_dir)!));

  const expectations: Array<[string, unknown]> = [
    ['--builder-id', spec.expected_builder_id],
    ['--source-uri', spec.expected_source_uri],
    ['--source-branch', f.source_branch],
    ['--source-tag', f.source_tag],
    ['--source-versioned-tag', f.source_versioned_tag],
    ['--package-name', f.package_name],
    ['--package-version', f.package_version],
    ['--certificate-identity', f.certificate_identity],
    ['--certificate-oidc-issuer', f.certificate_oidc_issuer],
    ['--owner', f.owner],
    ['--repo', f.repo],
    ['--signer-repo', f.signer_repo],
    ['--signer-workflow', f.signer_workflow],
    ['--san-regex', f.san_regex],
    ['--verifier-id', f.verifier_id],
    ['--resource-uri', f.resource_uri],
  ];
  for (const [flag, value] of expectations) if (str(value)) args.push(flag, str(value)!);
  if (f.build_workflow_inputs && typeof f.build_workflow_inputs === 'object') {
    for (const [k, v] of Object.entries(f.build_workflow_inputs))
      args.push('--build-workflow-input', `${k}=${String(v)}`);
  }
  if (Array.isArray(f.verified_levels))
    for (const l of f.verified_levels) args.push('--verified-level', String(l));
  // gh attestation verify is the upstream tool of gh-cli cases: it rejects v0.1 bundles, and with
  // identity flags its mode applies; slsa-verifier's verify-github-attestation likewise.
  if (spec.source === 'gh-cli') {
    args.push('--bundle-v01', 'reject');
    const pinned = ['owner', 'repo', 'certificate_identity', 'san_regex', 'signer_repo', 'signer_workflow'];
    if (pinned.some((k) => str(f[k]) !== undefined)) args.push('--mode', 'gh-attestation');
    // Upstream verified these without an identity policy (WithoutIdentitiesUnsafe): say so explicitly.
    else args.push('--mode', 'signature');
  } else if (mode?.startsWith('verify-github-attestation')) args.push('--mode', 'github-attestation');
  // sigstore-js verifies signatures and identity only; without identity flags it accepts any signer,
  // which slsa-gate does only when asked explicitly (issue 11 class 5).
  else if (spec.source === 'sigstore-js' && !bundleOnly) args.push('--mode', 'signature');
  return args;
}

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

/**
 * Resources before allocation and coded input errors (§10), through the real
 * CLI process. Real corpus bundles are the base; the attacker-made inputs are built here
 * from them, as each test says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pae } from '../../../src/core/verify/dsse-pae.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CASE = join(ROOT, 'test/fixtures/corpus/slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
const BUNDLE = join(CASE, 'provenance.intoto.jsonl');
const ARTIFACT = join(CASE, 'artifact');
const BUILDER =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
const SIGNER = `${BUILDER}@refs/tags/v2.1.0`;
const ISSUER = 'https://token.actions.githubusercontent.com';
const tmp = mkdtempSync(join(tmpdir(), 'input-limits-'));

interface Run {
  exit: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/slsa-gate.js'), ...args],
      { maxBuffer: 32 << 20 },
      (err, stdout, stderr) => {
        done({ exit: err ? Number((err as { code?: unknown }).code) : 0, stdout, stderr });
      },
    );
  });
}
function noStack(r: Run): void {
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}
const conformance = (bundle: string): Promise<Run> =>
  cli([
    'conformance',
    'verify-bundle',
    '--bundle',
    bundle,
    '--certificate-identity',
    SIGNER,
    '--certificate-oidc-issuer',
    ISSUER,
    ARTIFACT,
  ]);
const realBundle = (): Record<string, unknown> =>
  JSON.parse(readFileSync(BUNDLE, 'utf8')) as Record<string, unknown>;
/** The real bundle's JSON with `insert` (raw JSON text) as the value of an added top-level field. */
function bundleWithField(name: string, insert: string): string {
  const text = JSON.stringify(realBundle());
  return `${text.slice(0, -1)},${JSON.stringify(name)}:${insert}}`;
}

test('the artifact is accepted as a positional argument, as slsa-verifier takes it', async () => {
  const r = await cli([
    'verify',
    ARTIFACT,
    '--attestation',
    BUNDLE,
    '--builder-id',
    BUILDER,
    '--source-uri',
    'github.com/slsa-framework/example-package',
  ]);
  assert.equal(r.exit, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASSED: /);
});

test('malformed command lines exit 2 with INPUT_INVALID naming the argument, never a stack trace', async () => {
  const cases: Array<{ args: string[]; names: RegExp }> = [
    // a missing option value
    { args: ['verify', '--attestation', BUNDLE, '--artifact'], names: /--artifact/ },
    // a stray positional argument after the artifact
    { args: ['verify', ARTIFACT, 'stray', '--attestation', BUNDLE], names: /"stray"/ },
    // a positional artifact and --artifact
    { args: ['verify', ARTIFACT, '--artifact', ARTIFACT, '--attestation', BUNDLE], names: /--artifact/ },
    // a boolean given a value
    { args: ['verify', ARTIFACT, '--attestation', BUNDLE, '--json=yes'], names: /--json/ },
    { args: ['conformance', 'verify-bundle', '--bundle'], names: /--bundle/ },
    {
      args: ['conformance', 'verify-bundle', '--bundle', BUNDLE, '--key', BUNDLE, ARTIFACT, 'stray'],
      names: /"stray"/,
    },
    { args: ['policy', 'check', '--json=yes', BUNDLE], names: /--json/ },
  ];
  for (const { args, names } of cases) {
    const r = await cli(args);
    const context = `${args.join(' ')}\n${r.stdout}${r.stderr}`;
    assert.equal(r.exit, 2, context);
    assert.match(r.stderr, /INPUT_INVALID/, context);
    assert.match(r.stderr, names, context);
    noStack(r);
  }
});

test('a YAML alias bomb in a policy is POLICY_INVALID (exit 2), for verify and policy check', async () => {
  // Attacker-made: nine aliases of nine aliases of a nine-item list, eight levels deep
  // ("billion laughs", 9^9 nodes once expanded, 420 bytes of YAML).
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    previous = name;
  }
  const bomb = join(tmp, 'bomb.yaml');
  writeFileSync(bomb, `${lines.join('\n')}\nversion: 1\nrules: []\n`);
  const verify = await cli(['verify', ARTIFACT, '--attestation', BUNDLE, '--policy', bomb]);
  assert.equal(verify.exit, 2, verify.stdout + verify.stderr);
  assert.match(verify.stderr, /POLICY_INVALID: .*bomb\.yaml.*alias/s);
  noStack(verify);
  const check = await cli(['policy', 'check', bomb]);
  assert.equal(check.exit, 2, check.stdout + check.stderr);
  assert.match(check.stdout + check.stderr, /POLICY_INVALID/);
  noStack(check);
});

test('conformance verify-bundle: a 100k-deep bundle and an out-of-range integratedTime exit 2, coded, with the path', async () => {
  // Attacker-made: the real bundle with an added field holding an array nested 100,000 deep.
  const deep = join(tmp, 'deep.sigstore.json');
  writeFileSync(deep, bundleWithField('x', `${'['.repeat(100_000)}${']'.repeat(100_000)}`));
  const d = await conformance(deep);
  assert.equal(d.exit, 2, d.stdout + d.stderr);
  assert.match(
    d.stderr,
    /LIMIT_EXCEEDED: .*deep\.sigstore\.json: JSON nested deeper than \d+ levels at \$\.x\[0\]/,
  );
  noStack(d);

  // Attacker-made: the real bundle with its tlog entry's integratedTime set past year 9999.
  const bundle = realBundle() as { verificationMaterial: { tlogEntries: Array<{ integratedTime: string }> } };
  bundle.verificationMaterial.tlogEntries[0]!.integratedTime = '99999999999999999999';
  const late = join(tmp, 'late.sigstore.json');
  writeFileSync(late, JSON.stringify(bundle));
  const t = await conformance(late);
  assert.equal(t.exit, 2, t.stdout + t.stderr);
  assert.match(
    t.stderr,
    /BUNDLE_MALFORMED: .*integratedTime out of range.*tlogEntries\[0\]\.integratedTime/s,
  );
  noStack(t);
});

test('a 2M-deep array in 4 MB and 820k keys in 9.7 MB are refused as LIMIT_EXCEEDED before parsing', async () => {
  // Attacker-made from the real bundle: one added field holding a 2,000,000-deep array,
  // and one holding an object of 820,000 keys (the sizes of the adversarial review).
  const deep = join(tmp, 'deep2m.sigstore.json');
  writeFileSync(deep, bundleWithField('x', `${'['.repeat(2_000_000)}${']'.repeat(2_000_000)}`));
  const keys = join(tmp, 'keys.sigstore.json');
  const members = Array.from({ length: 820_000 }, (_, i) => `"k${i}":0`).join(',');
  writeFileSync(keys, bundleWithField('x', `{${members}}`));
  for (const [file, what] of [
    [deep, /JSON nested deeper than/],
    [keys, /more than \d+ JSON object keys/],
  ] as const) {
    const r = await cli([
      'verify',
      ARTIFACT,
      '--attestation',
      file,
      '--builder-id',
      BUILDER,
      '--source-uri',
      'github.com/slsa-framework/example-package',
      '--json',
    ]);
    assert.equal(r.exit, 1, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { failure: { check: string; code: string; reason: string } };
    assert.equal(out.failure.check, 'signature');
    assert.equal(out.failure.code, 'LIMIT_EXCEEDED');
    assert.match(out.failure.reason, what);
  }
});

test('an attestation read from /dev/zero or a file over the cap stops at the cap: LIMIT_EXCEEDED', async () => {
  // Attacker-made: an endless device, and a sparse 1 GiB file (truncate; no data written).
  const sparse = join(tmp, 'huge.json');
  execFileSync('truncate', ['-s', '1G', sparse]);
  for (const file of ['/dev/zero', sparse]) {
    const r = await cli([
      'verify',
      ARTIFACT,
      '--attestation',
      file,
      '--builder-id',
      BUILDER,
      '--source-uri',
      'github.com/slsa-framework/example-package',
      '--json',
    ]);
    assert.equal(r.exit, 1, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { failure: { check: string; code: string } };
    assert.equal(out.failure.code, 'LIMIT_EXCEEDED', r.stdout);
  }
  rmSync(sparse);
  // The same cap for a policy file: `policy check /dev/zero` stops at the limit, exit 2.
  const policy = await cli(['policy', 'check', '/dev/zero']);
  assert.equal(policy.exit, 2, policy.stdout + policy.stderr);
  assert.match(policy.stderr, /LIMIT_EXCEEDED/);
  // And for `verify --policy`, whose error reaches the CLI's top level: every input-layer code exits 2 (it exited 1).
  const verifyPolicy = await cli(['verify', ARTIFACT, '--attestation', BUNDLE, '--policy', '/dev/zero']);
  assert.equal(verifyPolicy.exit, 2, verifyPolicy.stdout + verifyPolicy.stderr);
  assert.match(verifyPolicy.stderr, /LIMIT_EXCEEDED: policy \/dev\/zero/);
  noStack(verifyPolicy);
  // A directory is not an attestation: an input error naming it.
  const dir = await cli(['verify', ARTIFACT, '--attestation', tmp]);
  assert.equal(dir.exit, 2);
  assert.match(dir.stderr, /INPUT_INVALID: .*is a directory/);
});

test('an artifact over 2 GiB is hashed as a stream and its signed statement binds to it', async () => {
  // Sparse artifact of 2 GiB + 1 zero bytes made with truncate (no data written); its sha256
  // was computed once with coreutils (`truncate -s 2147483649 f && sha256sum f`), not by the
  // code under test. The statement is the real corpus provenance with its subject set to
  // that digest, signed with a key made here and given with --public-key: attacker-made
  // evidence that the verifier must still bind to the artifact it hashes.
  const artifact = join(tmp, 'big.bin');
  execFileSync('truncate', ['-s', String(2 * 1024 ** 3 + 1), artifact]);
  const sha256 = 'b8030a8ab89280935633d8d991da3d9907c0f12e8b6fc3bfc515f4d440872b6e';
  const bundle = realBundle() as { dsseEnvelope: { payload: string; payloadType: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as {
    subject: Array<{ name: string; digest: Record<string, string> }>;
  };
  statement.subject = [{ name: 'big.bin', digest: { sha256 } }];
  const payload = Buffer.from(JSON.stringify(statement));
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sig = sign('sha256', pae(bundle.dsseEnvelope.payloadType, payload), key.privateKey);
  const envelope = join(tmp, 'big.dsse.json');
  writeFileSync(
    envelope,
    JSON.stringify({
      payloadType: bundle.dsseEnvelope.payloadType,
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: sig.toString('base64') }],
    }),
  );
  const pem = join(tmp, 'key.pem');
  writeFileSync(pem, key.publicKey.export({ type: 'spki', format: 'pem' }));
  const r = await cli([
    'verify',
    artifact,
    '--attestation',
    envelope,
    '--public-key',
    pem,
    '--source-uri',
    'github.com/slsa-framework/example-package',
    '--json',
  ]);
  rmSync(artifact);
  const out = JSON.parse(r.stdout) as {
    artifact: { digests: { sha256: string } };
    attestations: unknown[];
    failure?: { check: string };
  };
  assert.equal(out.artifact.digests.sha256, sha256, r.stdout + r.stderr);
  // Signature and subject binding passed (a verified attestation); the key signer is no trusted builder.
  assert.equal(out.attestations.length, 1, r.stdout + r.stderr);
  assert.notEqual(out.failure?.check, 'signature', r.stdout);
});

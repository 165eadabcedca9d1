/**
 * `npm run release:self`: the gate's own release is the first thing it gates.
 *
 *   1. builds the gate's image from the working tree (scripts/image/gate-image.ts: the
 *      Dockerfile's final stage, made without a Docker engine) and pushes it to the staging
 *      repository;
 *   2. attaches SLSA v1 provenance for it, signed by the local release builder's key
 *      (cosign-style `.att`), naming the source commit, the lockfile, Node and the Debian
 *      runtime packages it was made from;
 *   3. publishes it through the gate: a worker (the built one) with a policy and trust map for
 *      this builder, `slsa-gate publish --wait`, Temporal and the archive as configured;
 *   4. checks the published image as a consumer would: `cosign verify-attestation --key <the
 *      gate's public key> --type https://slsa.dev/verification_summary/v1` (offline: key only,
 *      an empty trusted root, no transparency log).
 *
 * Keys and generated files go to --data-dir (default .data/release): the release builder key
 * (made once, mode 0600), the trust map and policy, the gate's VSA public key. The policy is
 * loaded into its own database (SLSA_GATE_DB, default slsa_gate_release), never the one a
 * running gate uses. Exit 0 only when the image is published and cosign accepts its VSA.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { signEnvelope, type DemoBuilderKey } from '../src/demo/demo-builder.ts';
import { defaultTrustMap, type TrustMap } from '../src/core/policy/trust-map.ts';
import { INTOTO_STATEMENT_V1 } from '../src/core/formats/intoto/statement-v1.ts';
import { SLSA_PROVENANCE_V1 } from '../src/core/formats/slsa/provenance-v1.ts';
import { attachCosignAttestations } from '../src/registry/cosign-attestations.ts';
import { pushBuiltImage } from '../src/registry/build-image.ts';
import { RegistryClient } from '../src/registry/client.ts';
import { sha256Digest } from '../src/registry/digest.ts';
import { ensureDevSigningKey } from '../src/signing/signing-key.ts';
import { EMPTY_TRUSTED_ROOT } from './cosign-offline.ts';
import { buildGateImage } from './image/gate-image.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Who built it: the release builder of this repository, run on the maintainer's or CI's machine. */
export const RELEASE_BUILDER_ID = 'https://github.com/slsa-gate/slsa-gate/scripts/release-image.ts@v1';
export const RELEASE_BUILD_TYPE = 'https://slsa-gate.dev/image-build/v1';
export const RELEASE_BUILDER_KEY_ID = 'slsa-gate-release-builder';
const SOURCE_REPO = 'git+https://github.com/slsa-gate/slsa-gate';
const VSA_TYPE = 'https://slsa.dev/verification_summary/v1';

const USAGE = `Usage: npm run release:self -- [options]

  --registry HOST       registry host[:port] (default 127.0.0.1:$REGISTRY_PORT, 5000)
  --staging REPO        staging repository (default staging/slsa-gate)
  --release REPO        release repository (default release/slsa-gate)
  --tag TAG             tag (default: the commit's release tag vX.Y.Z, else dev-<commit>[-dirty])
  --data-dir DIR        keys, policy, trust map (default .data/release)
  --allow-dirty         build from a working tree with uncommitted changes (recorded in the provenance)
  --json                print the result as JSON

Temporal, the archive and the registry: TEMPORAL_ADDRESS, MONGODB_URI, SLSA_GATE_DB (default
slsa_gate_release), as for the worker (docs/operations.md).`;

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** The release builder's key from `dir`, made on first use (mode 0600). */
function releaseBuilderKey(dir: string): DemoBuilderKey {
  const path = join(dir, 'builder-key.pem');
  let privateKey: KeyObject;
  if (existsSync(path)) privateKey = createPrivateKey(readFileSync(path));
  else {
    privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: RELEASE_BUILDER_KEY_ID, privateKey, publicKeyPem };
}

/** The operator's policy for the gate's own image: this builder, this source, this build type, to `release` only. */
function releasePolicy(staging: string, release: string): string {
  return JSON.stringify(
    {
      version: 1,
      name: 'slsa-gate self-release',
      rules: [
        {
          name: 'the gate image',
          artifacts: [staging],
          identities: [{ keyId: RELEASE_BUILDER_KEY_ID }],
          builders: [RELEASE_BUILDER_ID],
          minBuildLevel: 2,
          source: { repos: ['github.com/slsa-gate/slsa-gate'] },
          // The gate has no schema for this buildType's parameters (docs/policy.md, entrypoint).
          entrypoint: { buildTypes: [RELEASE_BUILD_TYPE], allowUnknownParameters: true },
          // A release tag only from the same git tag (rollback guard); a build between releases as dev-<commit>.
          release: { destinations: [release], tags: ['source-tag', '^dev-[0-9a-f]{12}(-dirty)?$'] },
        },
      ],
    },
    null,
    2,
  );
}

/** The shipped trust map plus the release builder, at Build L2 when signed by its key. */
function releaseTrustMap(): TrustMap {
  const map = defaultTrustMap();
  return {
    ...map,
    builders: [
      ...map.builders,
      {
        name: 'slsa-gate release builder (scripts/release-image.ts)',
        signer: { kind: 'key', keyId: RELEASE_BUILDER_KEY_ID },
        builder: { ids: [RELEASE_BUILDER_ID] },
        requireExpectedBuilder: false,
        level: 2,
      },
    ],
  };
}

async function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const worker = spawn(process.execPath, [join(ROOT, 'bin/slsa-gate.js'), 'worker'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  process.once('exit', () => worker.kill('SIGKILL'));
  let log = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start in 120 s:\n${log}`)), 120_000);
    worker.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /health on (http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}:\n${log}`)));
  });
  // Ready when the worker polls (its health endpoint says RUNNING).
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return worker;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the worker never reported RUNNING at ${url}:\n${log}`);
}

/** `cosign verify-attestation` offline: its own HOME, key only, an empty trusted root, no tlog. */
function cosignVerifyVsa(cosign: string, ref: string, publicKeyFile: string) {
  const home = mkdtempSync(join(tmpdir(), 'slsa-gate-release-cosign-'));
  const emptyRoot = join(home, 'trusted_root.json');
  writeFileSync(emptyRoot, EMPTY_TRUSTED_ROOT);
  return spawnSync(
    cosign,
    [
      'verify-attestation',
      '--key',
      publicKeyFile,
      '--type',
      VSA_TYPE,
      '--insecure-ignore-tlog=true',
      '--trusted-root',
      emptyRoot,
      ref,
    ],
    { encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } },
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string', default: `127.0.0.1:${process.env.REGISTRY_PORT ?? '5000'}` },
      staging: { type: 'string', default: 'staging/slsa-gate' },
      release: { type: 'string', default: 'release/slsa-gate' },
      tag: { type: 'string' },
      'data-dir': { type: 'string', default: join(ROOT, '.data/release') },
      'allow-dirty': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const say = (line: string) => {
    if (!values.json) console.log(line);
  };
  const cosign = join(ROOT, '.tools/interop/cosign');
  if (!existsSync(cosign)) {
    console.error('release-image: cosign is not built: run bash scripts/interop-tools.sh');
    return 2;
  }
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  if (dirty && !values['allow-dirty']) {
    console.error('release-image: the working tree has uncommitted changes (commit, or pass --allow-dirty)');
    return 2;
  }
  const commit = git('rev-parse', 'HEAD');
  // A commit with a release tag (vX.Y.Z) is released under it; any other as dev-<commit>.
  const releaseTag = dirty ? '' : git('tag', '--points-at', 'HEAD', '--list', 'v[0-9]*').split('\n')[0]!;
  const sourceRef = releaseTag
    ? `refs/tags/${releaseTag}`
    : `refs/heads/${git('rev-parse', '--abbrev-ref', 'HEAD')}`;
  const created = new Date(git('show', '-s', '--format=%cI', 'HEAD')).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const tag = values.tag ?? (releaseTag || `dev-${commit.slice(0, 12)}${dirty ? '-dirty' : ''}`);
  const host = values.registry;
  const stagingRef = `${host}/${values.staging}`;
  const releaseRef = `${host}/${values.release}`;
  const dataDir = resolve(values['data-dir']);
  mkdirSync(dataDir, { recursive: true });

  // 1. The image, from the built tree (bin/slsa-gate.js builds what is stale on first run).
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--if-stale'], { stdio: 'inherit' });
  let started = performance.now();
  const gate = buildGateImage({ root: ROOT, created, revision: commit, version: tag });
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const megabytes = (gate.layers.reduce((n, l) => n + l.size, 0) / 1e6).toFixed(0);
  say(`built ${gate.image.digest} (${gate.layers.length} layers, ${megabytes} MB) in ${seconds()} s`);
  const registry = RegistryClient.forHost(host, { insecureHosts: [host] });
  started = performance.now();
  await pushBuiltImage(registry, values.staging, gate.image, { tag });
  say(`pushed ${stagingRef}:${tag} in ${seconds()} s`);

  // 2. Its provenance, signed by the release builder.
  const builderKey = releaseBuilderKey(dataDir);
  const lock = readFileSync(join(ROOT, 'package-lock.json'));
  const statement = {
    _type: INTOTO_STATEMENT_V1,
    subject: [{ name: stagingRef, digest: { sha256: gate.image.digest.slice('sha256:'.length) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: RELEASE_BUILD_TYPE,
        externalParameters: { source: `${SOURCE_REPO}@${sourceRef}`, dockerfile: 'Dockerfile', dirty },
        internalParameters: { layers: gate.layers },
        resolvedDependencies: [
          { uri: `${SOURCE_REPO}@${sourceRef}`, digest: { gitCommit: commit } },
          { uri: 'package-lock.json', digest: { sha256: sha256Digest(lock).slice('sha256:'.length) } },
          ...gate.materials,
        ],
      },
      runDetails: {
        builder: { id: RELEASE_BUILDER_ID },
        metadata: { invocationId: `release-${tag}`, startedOn: new Date().toISOString() },
      },
    },
  };
  await attachCosignAttestations(registry, values.staging, gate.image.digest, [
    { envelope: signEnvelope(statement, builderKey) },
  ]);

  // 3. Through the gate.
  const builderPub = join(dataDir, 'builder.pub');
  writeFileSync(builderPub, builderKey.publicKeyPem);
  const trustMapFile = join(dataDir, 'trust-map.json');
  writeFileSync(trustMapFile, JSON.stringify(releaseTrustMap(), null, 2));
  const policyFile = join(dataDir, 'policy.json');
  writeFileSync(policyFile, releasePolicy(stagingRef, releaseRef));
  const vsaKey = ensureDevSigningKey(join(dataDir, 'vsa-key.pem'));
  const vsaPub = join(dataDir, 'vsa-key.pub');
  writeFileSync(vsaPub, createPublicKey(readFileSync(vsaKey)).export({ type: 'spki', format: 'pem' }));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLSA_GATE_DB: process.env.SLSA_GATE_DB ?? 'slsa_gate_release',
    SLSA_GATE_TASK_QUEUE: `slsa-gate-release-${process.pid}-${Date.now().toString(36)}`,
    SLSA_GATE_POLICY: policyFile,
    SLSA_GATE_TRUST_MAP: trustMapFile,
    SLSA_GATE_PUBLIC_KEYS: `${RELEASE_BUILDER_KEY_ID}=${builderPub}`,
    SLSA_GATE_VSA_KEY: vsaKey,
    SLSA_GATE_INSECURE_REGISTRIES: host,
    SLSA_GATE_HEALTH_LISTEN: '127.0.0.1:0',
  };
  const worker = await startWorker(env);
  let published: { status: number | null; stdout: string; stderr: string };
  try {
    started = performance.now();
    published = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/slsa-gate.js'),
        'publish',
        '--image',
        `${stagingRef}:${tag}`,
        '--to',
        releaseRef,
        '--requester',
        'release-image',
        '--wait',
        '--json',
      ],
      { env, encoding: 'utf8', timeout: 600_000 },
    );
  } finally {
    worker.kill('SIGTERM');
  }
  if (published.status !== 0) {
    console.error(
      `release-image: the gate did not publish (exit ${published.status}):\n${published.stdout}${published.stderr}`,
    );
    return 1;
  }
  say(`published ${releaseRef}:${tag} through the gate in ${seconds()} s`);

  // 4. As a consumer: cosign accepts the gate's VSA on the published image.
  const ref = `${releaseRef}@${gate.image.digest}`;
  const verified = cosignVerifyVsa(cosign, ref, vsaPub);
  if (verified.status !== 0) {
    console.error(`release-image: cosign verify-attestation refused the VSA of ${ref}:\n${verified.stderr}`);
    return 1;
  }
  say(`cosign verify-attestation --key ${vsaPub} --type ${VSA_TYPE} ${ref}: verified`);
  if (values.json)
    console.log(
      JSON.stringify({
        image: ref,
        tag,
        digest: gate.image.digest,
        layers: gate.layers,
        vsaPublicKey: vsaPub,
        builderPublicKey: builderPub,
        cosign: 'verified',
      }),
    );
  return 0;
}

process.exitCode = await main();

/**
 * docs/consumers.md as a consumer runs it: every code block tagged `sh consumer-test=<id>` is
 * extracted and run as written with bash (`set -euo pipefail`), with the real cosign,
 * slsa-verifier and crane (.tools/interop) and the slsa-gate CLI on PATH, against an image the
 * real workflow published on the plain-http loopback registry, offline (its own HOME, no TUF).
 * The variables the page lists are set through the environment. Around the blocks: the
 * mirror map's failing cases (no map, an unmapped repository, another digest under the mirror)
 * and the served key set.
 *
 * Failing before: there was no mirror map (`--mirror` was refused, a mirrored image failed
 * VSA_MISMATCH in verify-image and the webhook), no key route and no `slsa-gate keys`, no image
 * signature (`cosign verify --key` on a mirror found none), and `audit verify --vsa-public-key`
 * reported the provenance `TAMPERED … KEY_UNKNOWN` without the builders' keys (the VSAs alone
 * are re-verified by `audit reverify --vsas-only` now; `audit verify` reads no keys).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID, verify } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { hashToken, TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import { signPublishedImage } from '../../src/activities/gate-vsa.ts';
import { createAdmissionReviewer } from '../../src/consumers/admission-webhook.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { buildImage, pushBuiltImage } from '../../src/registry/build-image.ts';
import { cosignAttestationTag } from '../../src/registry/cosign-attestations.ts';
import { findCosignSignatures } from '../../src/registry/cosign-signatures.ts';
import { publicKeyFingerprint } from '../../src/signing/signing-key.ts';
import { loadVsaKeySet, VsaKeySetSchema } from '../../src/signing/vsa-key-set.ts';
import { interopTools, type InteropTools } from '../helpers/interop-tools.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { consumerBlocks, runConsumerBlock, untaggedShBlocks } from '../helpers/consumer-doc.ts';
import { uniqueName } from '../helpers/services.ts';
import { createTestPki } from '../helpers/test-pki.ts';

const CLI = fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url));
const SERVER_NAME = 'slsa-gate-webhook.slsa-gate.svc';

/**
 * Blocks run by the end-to-end test of their area, which holds the state they need (a published
 * file, an npm package and the API, a drift notice, the policy files): that test takes the block
 * with `consumerBlock('<id>')`.
 */
const RUN_ELSEWHERE: Record<string, string> = {
  'file-artifact': 'file-artifact.test.ts',
  'npm-vsa': 'npm-package.test.ts',
  'drift-search-attributes': 'drift-monitor.test.ts',
  'drift-notice-hmac': 'drift-monitor.test.ts',
  policy: 'consumer-policies.test.ts',
};

/** What each block run here must print (exit 0 for all but the server); a block without an entry fails the test. */
const EXPECTED: Record<string, RegExp[]> = {
  keys: [/^slsa-gate-vsa sha256:[0-9a-f]{64} current$/m],
  'fetch-key': [/^vsa\.pub is the pinned key sha256:[0-9a-f]{64}$/m],
  'archive-cross-check': [
    /^PASSED: every archived signature verifies under today's trust$/m,
    /: 0 attestation\(s\) relied on by passing checks, [1-9]\d* issued VSA\(s\)$/m,
  ],
  variables: [],
  'verify-image': [/^PASSED: .*: VSA by .* verified SLSA_BUILD_LEVEL_2$/m],
  cosign: [/Attestations for an image tag: .*\.att/, /Signatures for an image tag: .*\.sig/],
  'slsa-verifier': [/PASSED/],
  crane: [/^https:\/\/slsa\.dev\/verification_summary\/v1$/m, /^application\/vnd\.in-toto\+json$/m],
  'mirror-copy': [],
  'mirror-verify': [/^PASSED: /m],
  'webhook-serve': [],
  revocation: [/^PASSED$/m],
};

let h: PublishHarness;
let tools: InteropTools;
let work: string;
let env: NodeJS.ProcessEnv;
let image: string;
let digest: string;
let release: string;
let mirrorPrefix: string;
let mirrored: string;
let closeApi: () => Promise<void>;
let keySetUrl: string;

before(async () => {
  tools = interopTools();
  h = await startPublishHarness();
  const staging = `staging/${uniqueName('docs')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const req = requestFor(h, staging, built.digest, { tag: 'v1.0.0' });
  const result = await h.publish(req);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  release = req.releaseRepository;
  digest = built.digest;
  image = `${h.registryHost}/${release}@${digest}`;
  mirrorPrefix = `${h.registryHost}/${uniqueName('mirror')}/`;
  mirrored = `${mirrorPrefix}${release.slice('release/'.length)}@${digest}`;

  const server = createApiServer({
    archive: h.deps.archive,
    // The key routes need no credential: the one token here is never sent.
    tokens: new TokenVerifier({
      tokens: [{ name: 'auditor', sha256: hashToken(randomUUID()), scopes: ['audit:read'] }],
    }),
    vsaKeys: loadVsaKeySet({
      SLSA_GATE_VSA_KEY: h.config.vsaKeyFile,
      SLSA_GATE_VSA_KEY_ID: h.config.vsaKeyId,
    }),
    log: () => {},
  });
  const api = (await listenApi(server, 0)).url;
  keySetUrl = `${api}/.well-known/slsa-gate/keys`;
  closeApi = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  // The consumer's machine: a working directory with the builder's key and the TLS files the
  // webhook block names, and a PATH with the tools and the CLI.
  work = join(h.dir, 'consumer');
  const bin = join(h.dir, 'bin');
  mkdirSync(work);
  mkdirSync(bin);
  writeFileSync(join(work, 'builder.pub'), h.builderKey.publicKeyPem);
  const pki = createTestPki(SERVER_NAME);
  writeFileSync(join(work, 'tls.crt'), pki.serverCert);
  writeFileSync(join(work, 'tls.key'), pki.serverKey);
  writeFileSync(join(work, 'ca.crt'), pki.caCert);
  symlinkSync(CLI, join(bin, 'slsa-gate'));
  for (const tool of [tools.cosign, tools.slsaVerifier, tools.crane])
    symlinkSync(tool, join(bin, tool.split('/').pop()!));
  const home = join(h.dir, 'home');
  mkdirSync(home);
  env = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: home,
    NO_COLOR: '1',
    IMAGE: image,
    DIGEST: digest,
    RESOURCE: `oci://${h.registryHost}/${release}`,
    VERIFIER: h.config.verifierId,
    RELEASE_PREFIX: `${h.registryHost}/release/`,
    MIRROR_PREFIX: mirrorPrefix,
    MIRRORED: mirrored,
    GATE_API: api,
    // Pinned out of band: computed here from the signing key, not from anything served.
    VSA_KEY_FINGERPRINT: publicKeyFingerprint(h.deps.signer.publicKeyPem),
    SLSA_GATE_INSECURE_REGISTRIES: h.registryHost,
    // The operator's settings for `slsa-gate keys` and the archive cross-check.
    SLSA_GATE_VSA_KEY: h.config.vsaKeyFile,
    MONGODB_URI: h.config.mongoUri,
    SLSA_GATE_DB: h.config.database,
  };
});

after(async () => {
  await closeApi?.();
  await h?.close();
});

/** Runs a script with bash in the consumer's directory, with the page's variables and `extraEnv`. */
function bash(script: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return runConsumerBlock(script, work, { ...env, ...extraEnv });
}

async function verifyImage(ref: string, extra: string[] = []) {
  return bash(
    `slsa-gate verify-image "$REF" --verifier-id "$VERIFIER" --public-key vsa.pub ${extra.join(' ')}`,
    {
      REF: ref,
    },
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Pod review as kube-apiserver sends it, posted to the webhook on `port` (TLS checked against its CA). */
function reviewPod(
  port: number,
  podImage: string,
): Promise<{ allowed: boolean; status?: { message: string } }> {
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: randomUUID(),
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'apps',
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:apps:deployer' },
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'app', namespace: 'apps' },
          spec: { containers: [{ name: 'app', image: podImage }] },
        },
      },
    }),
  );
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: SERVER_NAME,
        ca: readFileSync(join(work, 'ca.crt')),
        method: 'POST',
        path: '/validate',
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')).response));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs the webhook block as written in the background, posts one review, stops it. */
async function runWebhookBlock(script: string, podImage: string) {
  const listen = `127.0.0.1:${await freePort()}`;
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: work,
    env: { ...env, LISTEN: listen },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.includes('listening on') && resolve());
      child.once('exit', (code) => reject(new Error(`webhook exited ${code}: ${output}`)));
    });
    return await reviewPod(Number(listen.split(':')[1]), podImage);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
  }
}

test('every sh consumer-test block of docs/consumers.md runs as written', async () => {
  const blocks = consumerBlocks().filter((b) => !(b.id in RUN_ELSEWHERE));
  assert.deepEqual(
    blocks.map((b) => b.id),
    Object.keys(EXPECTED),
    'every tagged block has its expectations here, in page order',
  );
  for (const { id, script } of blocks) {
    if (id === 'variables') {
      // Given the four the reader sets, the block derives what the other blocks are run with here.
      const r = await bash(`${script}\nprintf '%s\\n' "$DIGEST" "$RESOURCE" "$MIRRORED"`, {
        DIGEST: '',
        RESOURCE: '',
        MIRRORED: '',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n').slice(0, 3), [digest, env.RESOURCE, mirrored]);
      continue;
    }
    if (id === 'webhook-serve') {
      const response = await runWebhookBlock(script, mirrored);
      assert.equal(response.allowed, true, `${id}: ${JSON.stringify(response)}`);
      continue;
    }
    const r = await bash(script);
    assert.equal(r.status, 0, `${id} exited ${r.status}:\n${script}\n${r.stdout}\n${r.stderr}`);
    for (const pattern of EXPECTED[id]!)
      assert.match(r.stdout + r.stderr, pattern, `${id}: ${r.stdout}${r.stderr}`);
  }
});

test('every sh block of docs/consumers.md is tagged, and each one tagged for another test is run there', () => {
  assert.deepEqual(untaggedShBlocks(), [], 'lines of docs/consumers.md opening an untagged sh block');
  const ids = consumerBlocks().map((b) => b.id);
  assert.equal(new Set(ids).size, ids.length, `one block per id: ${ids.join(' ')}`);
  for (const [id, file] of Object.entries(RUN_ELSEWHERE)) {
    assert.ok(ids.includes(id), `docs/consumers.md has a block tagged ${id}`);
    const source = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
    assert.ok(source.includes(`consumerBlock('${id}')`), `${file} runs the block ${id}`);
  }
});

test('without the mirror map the mirrored image fails VSA_MISMATCH, in verify-image and the webhook', async () => {
  // Runs after the page's blocks: the mirror exists and vsa.pub was fetched and pinned.
  const r = await verifyImage(mirrored);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAILED: VSA_MISMATCH: /);
  const review = createAdmissionReviewer({
    expect: { publicKeys: [h.deps.signer.publicKeyPem], verifierId: h.config.verifierId, verifiedLevels: [] },
    registry: () => h.registry,
  });
  const denied = await review({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      object: { spec: { containers: [{ name: 'app', image: mirrored }] } },
    },
  });
  assert.equal(denied.length, 1);
  assert.match(denied[0]!, /VSA_MISMATCH/);
});

test('a mirror map lends a VSA to no other repository and no other digest', async () => {
  const map = `--mirror "$MIRROR_PREFIX=$RELEASE_PREFIX"`;
  // Attacker material: the published image and its .att tag copied with crane into a
  // repository outside every mirror prefix (the attacker can push there).
  const elsewhere = `${h.registryHost}/${uniqueName('elsewhere')}/app`;
  const att = cosignAttestationTag(digest);
  for (const [from, to] of [
    [image, `${elsewhere}@${digest}`],
    [`${h.registryHost}/${release}:${att}`, `${elsewhere}:${att}`],
  ]) {
    const copied = tools.run(tools.crane, ['copy', from!, to!]);
    assert.equal(copied.status, 0, copied.stderr);
  }
  const unmapped = await verifyImage(`${elsewhere}@${digest}`, [map]);
  assert.equal(unmapped.status, 1, unmapped.stdout + unmapped.stderr);
  assert.match(unmapped.stdout, /^FAILED: VSA_MISMATCH: /);

  // Attacker material: another image pushed under the mirror prefix (push access to the
  // mirror), with the genuine `.att` manifest copied onto its own attachment tag.
  const mirrorRepo = mirrored.split('@')[0]!.slice(h.registryHost.length + 1);
  const planted = await pushBuiltImage(
    h.registry,
    mirrorRepo,
    buildImage({ seed: `${mirrorRepo}-attacker` }),
    {
      tag: 'v9',
    },
  );
  const lifted = tools.run(tools.crane, [
    'copy',
    `${h.registryHost}/${release}:${att}`,
    `${h.registryHost}/${mirrorRepo}:${cosignAttestationTag(planted.digest)}`,
  ]);
  assert.equal(lifted.status, 0, lifted.stderr);
  const borrowed = await verifyImage(`${h.registryHost}/${mirrorRepo}@${planted.digest}`, [map]);
  assert.equal(borrowed.status, 1, borrowed.stdout + borrowed.stderr);
  assert.match(borrowed.stdout, /^FAILED: VSA_MISMATCH: .*SUBJECT_MISMATCH/);
  // A map that would map every image is refused before anything is read.
  const everything = await verifyImage(mirrored, [`--mirror "${h.registryHost}/=${h.registryHost}/"`]);
  assert.equal(everything.status, 2, everything.stdout + everything.stderr);
  assert.match(everything.stderr, /CONFIG_INVALID/);
});

test('verify-image reaches a plain-http registry only when SLSA_GATE_INSECURE_REGISTRIES names it', async () => {
  const r = await bash(`slsa-gate verify-image "$IMAGE" --verifier-id "$VERIFIER" --public-key vsa.pub`, {
    SLSA_GATE_INSECURE_REGISTRIES: 'localhost:1',
  });
  assert.equal(r.status, 4, r.stdout + r.stderr);
});

test('the key set: JSON and PEM from the API and from slsa-gate keys, one fingerprint', async () => {
  const fingerprint = publicKeyFingerprint(h.deps.signer.publicKeyPem);
  const json = VsaKeySetSchema.parse(await (await fetch(keySetUrl)).json());
  assert.deepEqual(
    json.keys.map((k) => [k.keyId, k.fingerprint, k.status, k.algorithm]),
    [[h.config.vsaKeyId, fingerprint, 'current', 'ecdsa-p256']],
  );
  assert.equal(json.keys[0]!.publicKeyPem, h.deps.signer.publicKeyPem);
  for (const res of [
    await fetch(`${keySetUrl}.pem`),
    await fetch(keySetUrl, { headers: { Accept: 'application/x-pem-file' } }),
  ]) {
    assert.equal(res.headers.get('content-type'), 'application/x-pem-file');
    const pem = await res.text();
    assert.ok(pem.includes(`${h.config.vsaKeyId} ${fingerprint} current`), pem);
    assert.ok(pem.includes(h.deps.signer.publicKeyPem.trim()));
  }
  const cli = await bash('slsa-gate keys --pem');
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, await (await fetch(`${keySetUrl}.pem`)).text());
});

test('the image signature is written once, by the VSA key, and no other key verifies it on the mirror', async () => {
  // A retried activity finds its signature and signs nothing more.
  await signPublishedImage(h.deps, h.registry, release, digest);
  const { signatures } = await findCosignSignatures(h.registry, release, digest);
  assert.equal(signatures.length, 1);
  const [signed] = signatures;
  const payload = JSON.parse(Buffer.from(signed!.payload).toString('utf8')) as {
    critical: { image: { 'docker-manifest-digest': string }; type: string };
  };
  assert.equal(payload.critical.image['docker-manifest-digest'], digest);
  assert.equal(payload.critical.type, 'cosign container image signature');
  assert.ok(
    verify('sha256', signed!.payload, h.deps.signer.publicKeyPem, Buffer.from(signed!.signature, 'base64')),
  );
  // The mirror holds the `.sig` and `.att` tags only (no referrers): cosign verify reads the
  // `.sig` there, which the builder's key did not sign.
  const r = await bash(
    'cosign verify --key builder.pub --insecure-ignore-tlog=true --trusted-root trusted_root.json "$MIRRORED"',
  );
  assert.notEqual(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /no matching signatures/);
});

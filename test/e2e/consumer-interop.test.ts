/**
 * Time-of-use verification with the ecosystem's own tools, unchanged: cosign v2.6.5,
 * slsa-verifier v2.7.1 and crane v0.22.1, built from the Go module proxy by
 * scripts/interop-tools.sh, run against an image the real workflow published on the
 * local registry.
 *
 * Failing before: the VSA's DSSE signature carried `keyid: "slsa-gate-vsa"` (and the demo
 * provenance `keyid: "demo-builder"`), which cosign and slsa-verifier skip ("accepted
 * signatures do not match threshold, Found: 0"); the VSA existed only as a bundle referrer,
 * so no `.att` tag and no DSSE envelope for `slsa-verifier verify-vsa`; the provenance copy
 * was a bare-DSSE referrer cosign does not read.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SLSA_VSA_V1 as VSA_PREDICATE_TYPE } from '../../src/core/formats/slsa/vsa-v1.ts';
import { buildVsaStatement } from '../../src/core/vsa/vsa-statement.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { buildImage, pushBuiltImage } from '../../src/registry/build-image.ts';
import { attachForConsumers } from '../../src/registry/consumer-attestations.ts';
import { cosignAttestationTag } from '../../src/registry/cosign-attestations.ts';
import { signStatementBundle } from '../../src/signing/sign-bundle.ts';
import { loadSigningKey } from '../../src/signing/signing-key.ts';
import { interopTools, type InteropTools } from '../helpers/interop-tools.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import * as sa from '../../src/workflows/search-attributes.ts';

const PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

let h: PublishHarness;
let tools: InteropTools;
let release: string;
let digest: string;
let image: string;
const keys = { gate: '', builder: '', attacker: '' };
/** The attacker's image, pushed straight into the release repository, never through the gate. */
let aroundGate: string;

const pemFile = (name: string, pem: string) => {
  const path = join(h.dir, name);
  writeFileSync(path, pem);
  return path;
};

before(async () => {
  tools = interopTools();
  h = await startPublishHarness();
  const staging = `staging/${uniqueName('consumer')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const request = requestFor(h, staging, built.digest, { tag: 'v1.0.0' });
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  release = request.releaseRepository;
  digest = built.digest;
  image = `${h.registryHost}/${release}@${digest}`;
  keys.gate = pemFile('gate.pub', h.deps.signer.publicKeyPem);
  keys.builder = pemFile('builder.pub', h.builderKey.publicKeyPem);
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.attacker = pemFile(
    'attacker.pub',
    attacker.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );

  // Attacker material: an image built locally and pushed directly into the release
  // repository (write access to it is the attacker's), then given (1) a VSA for its own
  // digest signed with the attacker's key under the gate's key id and verifier id, and
  // (2) a copy of the gate's genuine VSA, lifted off the published image.
  const planted = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-attacker` }), {
    tag: 'v1.0.1',
  });
  aroundGate = `${h.registryHost}/${release}@${planted.digest}`;
  const attackerSigner = loadSigningKey({
    keyId: h.deps.signer.keyId,
    env: { SLSA_GATE_VSA_KEY_PEM: attacker.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
  });
  const resourceUri = `oci://${h.registryHost}/${release}`;
  const forged = buildVsaStatement({
    verifierId: h.config.verifierId,
    resourceUri,
    subjectDigest: planted.digest,
    subjectName: resourceUri,
    policy: { uri: 'urn:slsa-gate:policy:forged', digest: `sha256:${'0'.repeat(64)}` },
    inputAttestations: [],
    verificationResult: 'PASSED',
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    dependencyLevels: {},
    timeVerified: new Date().toISOString(),
  });
  const forgedBytes = Buffer.from(JSON.stringify(await signStatementBundle(forged, attackerSigner)), 'utf8');
  await attachForConsumers(h.registry, release, planted.digest, {
    bytes: forgedBytes,
    predicateType: VSA_PREDICATE_TYPE,
  });
  await attachForConsumers(h.registry, release, planted.digest, {
    bytes: genuineVsaBundle(),
    predicateType: VSA_PREDICATE_TYPE,
  });
});

after(async () => {
  await h?.close();
});

let genuineVsa: Buffer | undefined;
/** The VSA bundle the gate attached, as the downloader prints it (`cosign download attestation`). */
function genuineVsaBundle(): Buffer {
  if (genuineVsa) return genuineVsa;
  const lines = download(image, VSA_PREDICATE_TYPE);
  const bundle = lines.find((l) => l.includes('"dsseEnvelope"'));
  assert.ok(bundle, 'cosign download attestation prints the VSA bundle');
  genuineVsa = Buffer.from(bundle, 'utf8');
  return genuineVsa;
}

function download(ref: string, predicateType: string): string[] {
  const r = tools.run(tools.cosign, ['download', 'attestation', '--predicate-type', predicateType, ref]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** `cosign verify-attestation --key`, key-only (no Rekor entry, no Sigstore TUF root: offline). */
function cosignVerify(ref: string, key: string, type: string, extra: string[] = []) {
  return tools.run(tools.cosign, [
    'verify-attestation',
    '--key',
    key,
    '--type',
    type,
    '--insecure-ignore-tlog=true',
    '--trusted-root',
    tools.emptyTrustedRoot,
    ...extra,
    ref,
  ]);
}

/** The statements cosign printed as verified (one DSSE envelope JSON per line). */
function verifiedStatements(stdout: string) {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const envelope = JSON.parse(l) as { payload: string };
      return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
        predicateType: string;
        subject: Array<{ digest: { sha256: string } }>;
      };
    });
}

function assertVerified(r: ReturnType<InteropTools['run']>, predicateType: string, subject: string) {
  assert.equal(r.status, 0, r.stderr);
  const statements = verifiedStatements(r.stdout);
  assert.ok(statements.length > 0, 'cosign printed the verified attestation');
  for (const s of statements) {
    assert.equal(s.predicateType, predicateType);
    assert.equal(s.subject[0]?.digest.sha256, subject.slice('sha256:'.length));
  }
}

test('cosign verify-attestation --key accepts the VSA and the provenance from the bundle referrers', () => {
  assertVerified(cosignVerify(image, keys.gate, VSA_PREDICATE_TYPE), VSA_PREDICATE_TYPE, digest);
  assertVerified(cosignVerify(image, keys.builder, PROVENANCE_V1), PROVENANCE_V1, digest);
  assertVerified(
    cosignVerify(image, keys.gate, VSA_PREDICATE_TYPE, ['--new-bundle-format']),
    VSA_PREDICATE_TYPE,
    digest,
  );
  // The alias cosign documents for SLSA provenance v1 selects the same attestation.
  assertVerified(cosignVerify(image, keys.builder, 'slsaprovenance1'), PROVENANCE_V1, digest);
});

test('cosign verify-attestation --key accepts both from the classic .att tag (a mirror that copies tags)', () => {
  // cosign reads `.att` when the image has no bundle referrers: a copy of the image and its
  // `.att` tag, made with crane as a tag-copying mirror does, has exactly that.
  const mirror = `${h.registryHost}/mirror/${uniqueName('copy')}`;
  const copy = (from: string, to: string) => {
    const r = tools.run(tools.crane, ['copy', '--insecure', from, to]);
    assert.equal(r.status, 0, r.stderr);
  };
  copy(image, `${mirror}:v1.0.0`);
  const att = cosignAttestationTag(digest);
  copy(`${h.registryHost}/${release}:${att}`, `${mirror}:${att}`);
  const mirrored = `${mirror}@${digest}`;
  const vsa = cosignVerify(mirrored, keys.gate, VSA_PREDICATE_TYPE);
  assertVerified(vsa, VSA_PREDICATE_TYPE, digest);
  assertVerified(cosignVerify(mirrored, keys.builder, PROVENANCE_V1), PROVENANCE_V1, digest);
  assert.equal(cosignVerify(mirrored, keys.attacker, VSA_PREDICATE_TYPE).status, 1);
});

test('cosign tree lists the attestations; download attestation selects them by predicate type', () => {
  const tree = tools.run(tools.cosign, ['tree', image]);
  assert.equal(tree.status, 0, tree.stderr);
  assert.match(tree.stdout, new RegExp(`Attestations for an image tag: .*:${cosignAttestationTag(digest)}`));
  const oci11 = tools.run(tools.cosign, ['tree', '--experimental-oci11', image]);
  assert.equal(oci11.status, 0, oci11.stderr);
  assert.match(oci11.stdout, /application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json/);

  for (const type of [VSA_PREDICATE_TYPE, PROVENANCE_V1]) {
    const lines = download(image, type);
    // One bundle (referrer) and one bare envelope (`.att`) each, both about this type only.
    assert.equal(lines.length, 2, lines.join('\n'));
    for (const line of lines) {
      const json = JSON.parse(line) as { payload?: string; dsseEnvelope?: { payload: string } };
      const payload = json.payload ?? json.dsseEnvelope?.payload ?? '';
      const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as {
        predicateType: string;
      };
      assert.equal(statement.predicateType, type);
    }
  }
});

/** The bare DSSE envelope of the VSA as `cosign download attestation` prints it from `.att`. */
function vsaEnvelopeFile(ref: string, name: string): string {
  const envelope = download(ref, VSA_PREDICATE_TYPE).find(
    (l) => l.includes('"payloadType"') && !l.includes('dsseEnvelope'),
  );
  assert.ok(envelope, `a DSSE envelope of the VSA on ${ref}`);
  const path = join(h.dir, name);
  writeFileSync(path, envelope);
  return path;
}

function verifyVsa(opts: {
  attestation: string;
  subject: string;
  key: string;
  resourceUri?: string;
  levels?: string[];
}) {
  return tools.run(tools.slsaVerifier, [
    'verify-vsa',
    '--subject-digest',
    opts.subject,
    '--attestation-path',
    opts.attestation,
    '--verifier-id',
    h.config.verifierId,
    '--resource-uri',
    opts.resourceUri ?? `oci://${h.registryHost}/${release}`,
    ...(opts.levels ?? ['SLSA_BUILD_LEVEL_2']).flatMap((l) => ['--verified-level', l]),
    '--public-key-path',
    opts.key,
  ]);
}

test('slsa-verifier verify-vsa accepts the VSA with the documented flags (no --public-key-id needed)', () => {
  const attestation = vsaEnvelopeFile(image, 'vsa.dsse.json');
  const r = verifyVsa({ attestation, subject: digest, key: keys.gate });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /PASSED/);
  // The same with the id the operator configured for the key: an empty keyid is tried with any id.
  const withId = tools.run(tools.slsaVerifier, [
    'verify-vsa',
    '--subject-digest',
    digest,
    '--attestation-path',
    attestation,
    '--verifier-id',
    h.config.verifierId,
    '--resource-uri',
    `oci://${h.registryHost}/${release}`,
    '--public-key-path',
    keys.gate,
    '--public-key-id',
    h.deps.signer.keyId,
  ]);
  assert.equal(withId.status, 0, withId.stdout + withId.stderr);
});

test('slsa-verifier rejects another image, another key, a wrong resource URI and a higher level', () => {
  const attestation = vsaEnvelopeFile(image, 'vsa-reject.dsse.json');
  const other = `sha256:${'1'.repeat(64)}`;
  const cases = {
    'another image': verifyVsa({ attestation, subject: other, key: keys.gate }),
    'another key': verifyVsa({ attestation, subject: digest, key: keys.attacker }),
    'a wrong resource URI': verifyVsa({
      attestation,
      subject: digest,
      key: keys.gate,
      resourceUri: `oci://${h.registryHost}/release/other`,
    }),
    'a higher level': verifyVsa({
      attestation,
      subject: digest,
      key: keys.gate,
      levels: ['SLSA_BUILD_LEVEL_3'],
    }),
  };
  for (const [what, r] of Object.entries(cases)) {
    assert.equal(r.status, 1, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /FAILED/, what);
  }
});

test('cosign and slsa-verifier reject the image pushed around the gate, with a forged and a lifted VSA', () => {
  // The forged VSA (attacker's key) and the lifted one (the gate's, about another digest).
  const plantedDigest = aroundGate.split('@')[1]!;
  assert.equal(cosignVerify(aroundGate, keys.gate, VSA_PREDICATE_TYPE).status, 1);
  assert.equal(cosignVerify(aroundGate, keys.gate, VSA_PREDICATE_TYPE, ['--new-bundle-format']).status, 1);
  // The gate's genuine VSA on the published image does not verify with another key.
  assert.equal(cosignVerify(image, keys.attacker, VSA_PREDICATE_TYPE).status, 1);
  assert.equal(cosignVerify(image, keys.builder, VSA_PREDICATE_TYPE).status, 1);
  // Each envelope on the planted image, given to slsa-verifier for that image's digest.
  const envelopes = download(aroundGate, VSA_PREDICATE_TYPE).filter(
    (l) => l.includes('"payloadType"') && !l.includes('dsseEnvelope'),
  );
  assert.equal(envelopes.length, 2, 'both planted VSAs are there to be tried');
  for (const [i, envelope] of envelopes.entries()) {
    const path = join(h.dir, `planted-${i}.dsse.json`);
    writeFileSync(path, envelope);
    const r = verifyVsa({ attestation: path, subject: plantedDigest, key: keys.gate });
    assert.equal(r.status, 1, r.stdout + r.stderr);
  }
});

test('slsa-gate verify accepts the .att envelope by configured key and rejects the forged one', () => {
  const run = (attestation: string, subject: string) =>
    spawnSync(
      process.execPath,
      [
        fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
        'verify',
        '--digest',
        subject,
        '--attestation',
        attestation,
        '--public-key',
        keys.gate,
        '--mode',
        'vsa',
        '--verifier-id',
        h.config.verifierId,
        '--resource-uri',
        `oci://${h.registryHost}/${release}`,
        '--verified-level',
        'SLSA_BUILD_LEVEL_2',
      ],
      { encoding: 'utf8' },
    );
  const accepted = run(vsaEnvelopeFile(image, 'vsa-gate.dsse.json'), digest);
  assert.equal(accepted.status, 0, accepted.stdout + accepted.stderr);
  const plantedDigest = aroundGate.split('@')[1]!;
  const forged = download(aroundGate, VSA_PREDICATE_TYPE).filter(
    (l) => l.includes('"payloadType"') && !l.includes('dsseEnvelope'),
  );
  for (const [i, envelope] of forged.entries()) {
    const path = join(h.dir, `planted-gate-${i}.dsse.json`);
    writeFileSync(path, envelope);
    assert.equal(run(path, plantedDigest).status, 1);
  }
});

test('the Repository search attribute names the release repository', async () => {
  const query = `Repository = "${h.registryHost}/${release}"`;
  let found = 0;
  // Visibility is eventually consistent: poll briefly.
  for (let i = 0; i < 50 && found === 0; i++) {
    for await (const wf of h.client.workflow.list({ query })) {
      if (wf.workflowId.endsWith(`@${digest}`)) found++;
    }
    if (found === 0) await sleep(200);
  }
  assert.equal(found, 1);
  const handle = h.client.workflow.getHandle(`publish:${h.registryHost}/${release}@${digest}`);
  const described = await handle.describe();
  assert.equal(described.typedSearchAttributes.get(sa.Repository), `${h.registryHost}/${release}`);
});

function verifyImage(ref: string, extra: string[] = [], key = keys.gate) {
  return spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'verify-image',
      ref,
      '--verifier-id',
      h.config.verifierId,
      '--public-key',
      key,
      '--insecure-registry',
      h.registryHost,
      ...extra,
    ],
    { encoding: 'utf8' },
  );
}

test('slsa-gate verify-image passes the published image, by tag and by digest', () => {
  for (const ref of [image, `${h.registryHost}/${release}:v1.0.0`]) {
    const r = verifyImage(ref, ['--verified-level', 'SLSA_BUILD_LEVEL_2']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASSED: /);
  }
  const json = verifyImage(image, ['--json']);
  assert.equal(json.status, 0, json.stderr);
  const verdict = JSON.parse(json.stdout) as {
    outcome: string;
    digest: string;
    accepted: { verifiedLevels: string[] };
  };
  assert.equal(verdict.outcome, 'PASSED');
  assert.equal(verdict.digest, digest);
  assert.deepEqual(verdict.accepted.verifiedLevels, ['SLSA_BUILD_LEVEL_2']);
});

test('slsa-gate verify-image fails the image pushed around the gate, another key, another resource, a higher level', () => {
  const planted = verifyImage(aroundGate);
  assert.equal(planted.status, 1, planted.stdout + planted.stderr);
  assert.match(planted.stdout, /^FAILED: VSA_MISMATCH: /);
  // Both planted VSAs were read and refused: the forged one by its signature, the lifted one by its subject.
  assert.match(planted.stdout, /SUBJECT_MISMATCH/);
  assert.match(planted.stdout, /SIGNATURE_ERROR|KEY_UNKNOWN/);
  const byTag = verifyImage(`${h.registryHost}/${release}:v1.0.1`);
  assert.equal(byTag.status, 1, byTag.stdout + byTag.stderr);
  assert.equal(verifyImage(image, [], keys.attacker).status, 1);
  assert.equal(verifyImage(image, ['--resource-uri', `oci://${h.registryHost}/release/other`]).status, 1);
  assert.equal(verifyImage(image, ['--verified-level', 'SLSA_BUILD_LEVEL_3']).status, 1);
  // An image with nothing attached at all.
  const bare = verifyImage(`${h.registryHost}/${release}@sha256:${'2'.repeat(64)}`);
  assert.notEqual(bare.status, 0);
});

test('slsa-gate verify-image refuses to run without a verifier id or a key (exit 2)', () => {
  const noVerifier = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'verify-image',
      image,
      '--public-key',
      keys.gate,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(noVerifier.status, 2, noVerifier.stderr);
  assert.match(noVerifier.stderr, /INPUT_INVALID/);
  const noKey = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'verify-image',
      image,
      '--verifier-id',
      'x',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(noKey.status, 2, noKey.stderr);
});

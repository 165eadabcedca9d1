/**
 * The policies in deploy/policies, as shipped, run by the consumers' cosign (v2.6.5, built by
 * scripts/interop-tools.sh) against images the real workflow published on the local registry:
 * `cosign verify-attestation --key gate.pub --type <VSA v1> --policy vsa.cue|vsa.rego`, with
 * only the parameters at the top of each file changed, as a consumer edits them.
 *
 * Real material: an image published to the release repository (SLSA Build L2), a copy of it
 * with its attestations in another repository (a mirror), and the same image after
 * `slsa-gate revoke` (the gate's FAILED VSA beside its PASSED one). Attacker material, all of
 * it genuine gate output, since an attacker cannot sign with the gate's key: an image the gate
 * published to another release repository (the attacker's own app, which their CI may publish)
 * deployed where ours is expected; an image the gate published at Build L1 (built by a builder
 * the operator trusts only at L1) to the same release repository; and our image judged by a
 * consumer whose freshness window its VSA is older than.
 *
 * Failing before: deploy/policies did not exist; the documented cosign check (key, type and
 * subject) passed the foreign image, the Build L1 image and, by the key alone, the revoked one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SLSA_VSA_V1 } from '../../src/core/formats/slsa/vsa-v1.ts';
import { buildAndAttest, DEMO_BUILDER_KEY_ID, demoTrustMap } from '../../src/demo/demo-builder.ts';
import { BUNDLE_ANNOTATIONS } from '../../src/registry/consumer-attestations.ts';
import { cosignAttestationTag } from '../../src/registry/cosign-attestations.ts';
import { listReferrers } from '../../src/registry/referrers.ts';
import { runSlsaGate } from '../helpers/cli-process.ts';
import { consumerBlock } from '../helpers/consumer-doc.ts';
import { interopTools, type InteropTools } from '../helpers/interop-tools.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

const policiesDir = fileURLToPath(new URL('../../deploy/policies/', import.meta.url));
/** A builder the operator trusts only at SLSA Build L1 (the demo builder is trusted at L2). */
const L1_BUILDER_ID = 'https://slsa-gate.dev/demo-builder-l1@v1';

let h: PublishHarness;
let tools: InteropTools;
let gateKey: string;
/** The published image, its release repository as the VSA names it, and a mirror's copy. */
const published = { image: '', digest: '', release: '', resourceUri: '' };
let mirrored = '';
let mirror = '';
let foreign = '';
let downgraded = '';

/** A demo image built by `builderId`, published through the gate to `release`; its reference by digest. */
async function publish(opts: { release: string; tag: string; builderId?: string; minBuildLevel?: number }) {
  const staging = `staging/${uniqueName('policies')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: opts.tag,
    seed: staging,
    key: h.builderKey,
    ...(opts.builderId ? { provenance: { builderId: opts.builderId } } : {}),
  });
  const request = requestFor(h, staging, built.digest, { tag: opts.tag, release: opts.release });
  if (opts.builderId) {
    // The operator's rule for that builder's images: its builder, at the level it is trusted at.
    const policy = JSON.parse(h.policies.get(built.digest)!) as {
      rules: Array<{ builders: string[]; minBuildLevel: number }>;
    };
    policy.rules[0]!.builders = [opts.builderId];
    policy.rules[0]!.minBuildLevel = opts.minBuildLevel ?? 1;
    h.policies.set(built.digest, JSON.stringify(policy));
  }
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  return { image: `${h.registryHost}/${opts.release}@${built.digest}`, digest: built.digest };
}

const crane = (...args: string[]) => {
  const r = tools.run(tools.crane, [...args, '--insecure']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};

/**
 * Copies what a mirror of the release repository copies: the image, its classic `.att` tag
 * and its bundle referrers (docs/consumers.md#what-is-attached-and-where).
 */
async function mirrorCopy(to: string) {
  const from = `${h.registryHost}/${published.release}`;
  crane('copy', published.image, `${to}@${published.digest}`);
  const att = cosignAttestationTag(published.digest);
  crane('copy', `${from}:${att}`, `${to}:${att}`);
  for (const referrer of await listReferrers(h.registry, published.release, published.digest)) {
    crane('copy', `${from}@${referrer.digest}`, `${to}@${referrer.digest}`);
  }
}

before(async () => {
  tools = interopTools();
  const trustMap = demoTrustMap();
  trustMap.builders.push({
    name: 'slsa-gate demo builder at L1',
    signer: { kind: 'key', keyId: DEMO_BUILDER_KEY_ID },
    builder: { ids: [L1_BUILDER_ID] },
    requireExpectedBuilder: false,
    level: 1,
  });
  h = await startPublishHarness({ trustMap });
  gateKey = join(h.dir, 'gate.pub');
  writeFileSync(gateKey, h.deps.signer.publicKeyPem);

  published.release = `release/${uniqueName('policies')}`;
  Object.assign(published, await publish({ release: published.release, tag: 'v1.0.0' }));
  published.resourceUri = `oci://${h.registryHost}/${published.release}`;
  // Attacker material: the attacker's own app, published by the gate to its own release repository.
  foreign = (await publish({ release: `release/${uniqueName('other-app')}`, tag: 'v1.0.0' })).image;
  // Attacker material: an image published by the gate to our release repository at Build L1.
  downgraded = (
    await publish({ release: published.release, tag: 'v0.9.0', builderId: L1_BUILDER_ID, minBuildLevel: 1 })
  ).image;
  mirror = `${h.registryHost}/mirror/${uniqueName('policies')}`;
  await mirrorCopy(mirror);
  mirrored = `${mirror}@${published.digest}`;
});

after(async () => {
  await h?.close();
});

interface Parameters {
  verifierId: string;
  resourceUris: string[];
  minimumBuildLevel: number;
  /** CUE: the cutoff (UTC, ISO 8601); Rego: the age in days. */
  freshness: { notBefore: string; maxAgeDays: number };
}

/** Sets one parameter line of a policy (`name: value` or `name := value`), which must be there once. */
function setParameter(text: string, name: string, value: string): string {
  // The names are plain identifiers (`#verifierId`, `max_age_days`): nothing to escape.
  const line = new RegExp(`^(${name}(?::| :=) ).*$`, 'm');
  assert.equal(text.split('\n').filter((l) => line.test(l)).length, 1, `${name} is set once`);
  return text.replace(line, `$1${value}`);
}

/** The shipped policy with the consumer's parameters, written where cosign reads it. */
function policyFile(kind: 'cue' | 'rego', p: Parameters): string {
  let text = readFileSync(join(policiesDir, `vsa.${kind}`), 'utf8');
  if (kind === 'cue') {
    text = setParameter(text, '#verifierId', JSON.stringify(p.verifierId));
    text = setParameter(text, '#resourceUris', JSON.stringify(p.resourceUris));
    text = setParameter(text, '#minimumLevels', `{BUILD: ${p.minimumBuildLevel}}`);
    text = setParameter(text, '#verifiedNotBefore', JSON.stringify(p.freshness.notBefore.slice(0, 19)));
  } else {
    text = setParameter(text, 'verifier_id', JSON.stringify(p.verifierId));
    text = setParameter(
      text,
      'resource_uris',
      `{${p.resourceUris.map((u) => JSON.stringify(u)).join(', ')}}`,
    );
    text = setParameter(text, 'minimum_levels', `{"BUILD": ${p.minimumBuildLevel}}`);
    text = setParameter(text, 'max_age_days', String(p.freshness.maxAgeDays));
  }
  const path = join(h.dir, `${uniqueName('vsa')}.${kind}`);
  writeFileSync(path, text);
  return path;
}

/** What a consumer of the published image sets: this gate, this release repository, Build L2, 30 days. */
function consumer(overrides: Partial<Parameters> = {}): Parameters {
  return {
    verifierId: h.config.verifierId,
    resourceUris: [published.resourceUri],
    minimumBuildLevel: 2,
    freshness: { notBefore: new Date(Date.now() - 30 * 86_400_000).toISOString(), maxAgeDays: 30 },
    ...overrides,
  };
}

/** The documented command: key-only, offline (docs/consumers.md#policies); without a policy when `policy` is null. */
function verify(image: string, policy: string | null, extra: string[] = []) {
  const r = tools.run(tools.cosign, [
    'verify-attestation',
    '--key',
    gateKey,
    '--type',
    SLSA_VSA_V1,
    ...(policy === null ? [] : ['--policy', policy]),
    '--insecure-ignore-tlog=true',
    '--trusted-root',
    tools.emptyTrustedRoot,
    ...extra,
    image,
  ]);
  return { ...r, output: r.stdout + r.stderr };
}

/** cosign passed the image and printed the VSAs it checked, each about `digest`. */
function assertPassed(r: ReturnType<typeof verify>, digest: string) {
  assert.equal(r.status, 0, r.output);
  const statements = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) =>
      JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')),
    );
  assert.ok(statements.length > 0, r.output);
  for (const s of statements as Array<{ subject: Array<{ digest: { sha256: string } }> }>)
    assert.equal(`sha256:${s.subject[0]?.digest.sha256}`, digest);
}

/**
 * cosign failed the image on the policy, for the reason `reason` names; without the policy,
 * by the key alone, it passes: the policy is what refuses it.
 */
function assertFailed(r: ReturnType<typeof verify>, reason: RegExp, image: string) {
  assert.equal(verify(image, null).status, 0, `${image} verifies by the key alone`);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /validation errors? occurred/, 'failed on the policy, not before it');
  assert.match(r.output, reason);
}

/** How each engine names a failed condition. */
const reasons = {
  cue: {
    resourceUri: /predicate\.resourceUri: (conflicting values|.*empty disjunction)/,
    level:
      /predicate\.verifiedLevels: invalid value \["SLSA_BUILD_LEVEL_1"\] \(does not satisfy list\.MatchN\)/,
    verificationResult:
      /predicate\.verificationResult: conflicting values "(FAILED" and "PASSED|PASSED" and "FAILED)"/,
    freshness: /predicate\.timeVerified: invalid value "\S+" \(out of bound >="/,
  },
  rego: {
    resourceUri: /resourceUri is oci:\/\/\S+ not one of/,
    level: /SLSA_BUILD_LEVEL_1 is below the minimum SLSA_BUILD_LEVEL_2/,
    verificationResult: /verificationResult is FAILED, not PASSED/,
    freshness: /timeVerified \S+ is more than 0 days old/,
  },
};

for (const kind of ['cue', 'rego'] as const) {
  test(`vsa.${kind}: the published image passes, at its level and under a lower minimum`, () => {
    assertPassed(verify(published.image, policyFile(kind, consumer())), published.digest);
    // Levels are ordered: a VSA at Build L2 meets a minimum of L1.
    assertPassed(
      verify(published.image, policyFile(kind, consumer({ minimumBuildLevel: 1 }))),
      published.digest,
    );
    // The bundle referrer, as cosign reads it with the new bundle format.
    assertPassed(
      verify(published.image, policyFile(kind, consumer()), ['--new-bundle-format']),
      published.digest,
    );
  });

  test(`vsa.${kind}: a mirror's copy passes: its VSA names the release repository it copies`, () => {
    assertPassed(verify(mirrored, policyFile(kind, consumer())), published.digest);
    assertPassed(verify(mirrored, policyFile(kind, consumer()), ['--new-bundle-format']), published.digest);
  });

  test(`vsa.${kind}: an image the gate published to another release repository fails on resourceUri`, () => {
    assertFailed(verify(foreign, policyFile(kind, consumer())), reasons[kind].resourceUri, foreign);
  });

  test(`vsa.${kind}: an image the gate published at Build L1 fails a Build L2 minimum`, () => {
    assertFailed(verify(downgraded, policyFile(kind, consumer())), reasons[kind].level, downgraded);
  });

  test(`vsa.${kind}: a VSA older than the consumer's window fails on freshness`, () => {
    const stale = consumer({
      freshness: { notBefore: new Date(Date.now() + 86_400_000).toISOString(), maxAgeDays: 0 },
    });
    assertFailed(verify(published.image, policyFile(kind, stale)), reasons[kind].freshness, published.image);
  });
}

test('docs/consumers.md#policies: the cosign command runs as written, with vsa.rego and with vsa.cue', () => {
  // As written for vsa.rego; the page says `--policy vsa.cue` runs the same way.
  const command = consumerBlock('policy');
  for (const kind of ['rego', 'cue'] as const) {
    // The consumer's directory: the gate's key, the edited policy, the empty trusted root.
    const cwd = mkdtempSync(join(h.dir, 'consumer-'));
    copyFileSync(gateKey, join(cwd, 'vsa.pub'));
    copyFileSync(policyFile(kind, consumer()), join(cwd, `vsa.${kind}`));
    copyFileSync(tools.emptyTrustedRoot, join(cwd, 'trusted_root.json'));
    const run = (image: string) =>
      spawnSync('bash', ['-euo', 'pipefail', '-c', command.replaceAll('vsa.rego', `vsa.${kind}`)], {
        cwd,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: `${dirname(tools.cosign)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          HOME: cwd,
          IMAGE: image,
        },
      });
    const passed = run(published.image);
    assert.equal(passed.status, 0, passed.stdout + passed.stderr);
    const refused = run(foreign);
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, reasons[kind].resourceUri);
  }
});

test('after `slsa-gate revoke`, both policies fail the image on its FAILED VSA; a mirror fails once it copies again', async () => {
  const revoked = await runSlsaGate(
    {
      TEMPORAL_ADDRESS: h.config.temporalAddress,
      TEMPORAL_NAMESPACE: h.config.temporalNamespace,
      SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
      MONGODB_URI: h.config.mongoUri,
      SLSA_GATE_DB: h.config.database,
    },
    'revoke',
    published.digest,
    '--reason',
    'policy test: revoked',
    '--by',
    'operator',
    '--json',
  );
  assert.equal(revoked.code, 0, revoked.err);
  // The revocation left the PASSED VSA in place: the key alone still verifies the image.
  const referrers = await listReferrers(h.registry, published.release, published.digest);
  assert.ok(
    referrers.filter((r) => r.annotations?.[BUNDLE_ANNOTATIONS.predicateType] === SLSA_VSA_V1).length >= 2,
  );
  for (const kind of ['cue', 'rego'] as const) {
    assertFailed(
      verify(published.image, policyFile(kind, consumer())),
      reasons[kind].verificationResult,
      published.image,
    );
    assertFailed(
      verify(published.image, policyFile(kind, consumer()), ['--new-bundle-format']),
      reasons[kind].verificationResult,
      published.image,
    );
  }
  // A mirror carries the revocation once it copies the attestations again.
  await mirrorCopy(mirror);
  for (const kind of ['cue', 'rego'] as const)
    assertFailed(verify(mirrored, policyFile(kind, consumer())), reasons[kind].verificationResult, mirrored);
});

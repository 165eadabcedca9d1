/**
 * What a publish verifies, and how a denial names what did not verify
 * (docs/security-model.md#one-verification-per-publish, docs/architecture.md#publish-pipeline):
 * each attestation's signature is checked once per publish, and an attestation that did not
 * count is in the decision's `rejected` list with its code, everywhere the decision is read.
 * Real Temporal dev server and Worker (in this process), registry, FerretDB, API on loopback
 * and the `slsa-gate` command as a process.
 *
 * Material: images built and signed by the demo builder (src/demo/demo-builder.ts), as every
 * publish test uses; the tampered one is described where it is made.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { hashToken } from '../../src/api/api-tokens.ts';
import { detailPage } from '../../src/api/web-views.ts';
import { showDecision } from '../../src/archive/queries.ts';
import { createPolicyActivities } from '../../src/activities/policy.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { attachReferrer } from '../../src/registry/referrers.ts';
import { signatureChecks } from '../../src/core/verify/verify-attestations.ts';
import { publishWorkflowId, type PublishProgress } from '../../src/workflows/contract.ts';
import { startApi, type ApiRig } from '../helpers/api-rig.ts';
import { runCli } from '../helpers/cli-process.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

const token = randomBytes(32).toString('hex');
let h: PublishHarness;
let api: ApiRig;

before(async () => {
  h = await startPublishHarness();
  api = await startApi(h, {
    tokens: [{ name: 'auditor', sha256: hashToken(token), scopes: ['audit:read'] }],
  });
});
after(async () => {
  await api?.close();
  await h?.close();
});

/** Every signature check of attestations from `originPrefix`, counted by origin, while `run` runs. */
async function countSignatureChecks(originPrefix: string, run: () => Promise<void>) {
  const counts = new Map<string, number>();
  const onCheck = (message: unknown) => {
    const { origin } = message as { origin: string };
    if (origin.startsWith(originPrefix)) counts.set(origin, (counts.get(origin) ?? 0) + 1);
  };
  subscribe(signatureChecks.name, onCheck);
  try {
    await run();
  } finally {
    unsubscribe(signatureChecks.name, onCheck);
  }
  return counts;
}

/** An image the demo builder made, signed and staged, and the request to publish it under v1.0.0. */
async function stagedRequest(name: string, tamper?: (statement: Record<string, unknown>) => void) {
  const staging = `staging/${uniqueName(name)}`;
  const { digest } = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
    ...(tamper ? { tamper } : {}),
  });
  return { staging, digest, request: requestFor(h, staging, digest, { tag: 'v1.0.0' }) };
}

test('a publish checks the signature of each attestation exactly once', async () => {
  const { staging, request } = await stagedRequest('once');
  const counts = await countSignatureChecks(`oci://${h.registryHost}/${staging}`, async () => {
    const result = await h.publish(request);
    assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  });
  assert.equal(counts.size, 1, `one attestation is attached to the image: ${[...counts.keys()].join(', ')}`);
  for (const [origin, count] of counts) assert.equal(count, 1, `${origin} was verified ${count} times`);
});

test('the evaluation uses what was verified under the trust in force, and verifies the archived bytes again otherwise', async () => {
  const { staging, digest, request } = await stagedRequest('trust');
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.ok(decision);
  await h.loadPolicy(h.policies.get(digest)!);

  // The evaluation step alone, over the archived attestations, given a collection that found
  // nothing verified: under the trust in force that result is what is evaluated, and no
  // signature is checked; under other trust material it is set aside and the archived bytes
  // are verified again.
  const { evaluatePolicy } = createPolicyActivities(h.deps);
  const evaluateWith = (trustDigest: string) =>
    evaluatePolicy({
      candidate: request.candidate,
      attestationDigests: decision.attestationDigests,
      evidence: { verified: [], rejected: [], trustDigest, verifySeconds: 0 },
      levels: {},
      now: new Date().toISOString(),
    });
  const prefix = `oci://${h.registryHost}/${staging}`;
  let evaluated: Awaited<ReturnType<typeof evaluateWith>> | undefined;
  const sameTrust = await countSignatureChecks(prefix, async () => {
    evaluated = await evaluateWith(h.deps.trust.digest);
  });
  assert.equal(sameTrust.size, 0, 'no signature is checked at evaluation');
  assert.equal(evaluated?.evaluation.checks.find((c) => c.id === 'provenance')?.code, 'NO_PROVENANCE');

  const otherTrust = await countSignatureChecks(prefix, async () => {
    evaluated = await evaluateWith(`sha256:${'0'.repeat(64)}`);
  });
  assert.equal(otherTrust.size, 1, 'the archived attestation is verified again');
  assert.ok(evaluated?.evaluation.attestationDigest, 'its provenance is evaluated');
  assert.equal(
    evaluated.evaluation.checks.find((c) => c.id === 'provenance'),
    undefined,
  );
});

test('a denial from a tampered attestation names it, with its code, in the archive, status, the API, the web view and the verdict', async () => {
  // Attacker material: the demo builder's real signed provenance for this image, with one byte
  // of the DSSE payload flipped after signing (the source commit's first 'a' becomes 'b'); the
  // signature no longer covers the payload.
  const { staging, digest, request } = await stagedRequest('tampered', (statement) => {
    const predicate = statement.predicate as {
      buildDefinition: { resolvedDependencies: Array<{ digest: Record<string, string> }> };
    };
    const source = predicate.buildDefinition.resolvedDependencies[0]!;
    source.digest.gitCommit = `b${source.digest.gitCommit!.slice(1)}`;
  });
  const result = await h.publish(request);
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, 'SIGNATURE_ERROR', result.reason);
  const origin = `oci://${h.registryHost}/${staging}:`;

  const expectRejected = (rejected: unknown, where: string) => {
    const list = rejected as Array<{ origin: string; code: string; reason: string }> | undefined;
    assert.equal(list?.length, 1, `${where}: ${JSON.stringify(rejected)}`);
    assert.ok(list[0]!.origin.startsWith(origin), `${where}: ${list[0]!.origin}`);
    assert.equal(list[0]!.code, 'SIGNATURE_ERROR', where);
    assert.ok(list[0]!.reason.length > 0, where);
    assert.ok(!list[0]!.reason.includes(list[0]!.origin), `${where}: the reason does not repeat the origin`);
  };
  expectRejected(result.rejected, 'the workflow result');

  const decision = await h.deps.archive.getDecision(result.decisionId);
  expectRejected(decision?.rejected, 'the archive record');

  const res = await api.call(`/api/v1/decisions/${encodeURIComponent(result.decisionId)}`, { token });
  assert.equal(res.status, 200);
  const detail = (await res.json()) as { decision: { rejected?: unknown } };
  expectRejected(detail.decision.rejected, 'the API');

  const page = detailPage((await showDecision(h.deps.archive, result.decisionId))!, undefined);
  const rejectedSection = page.slice(page.indexOf('Rejected attestations'));
  assert.ok(rejectedSection.includes('SIGNATURE_ERROR'), 'the web view lists the rejection with its code');
  assert.ok(rejectedSection.includes(`oci://${h.registryHost}/${staging}:`), 'and its origin');

  const env = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.temporalNamespace,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: h.config.database,
    SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
  };
  const workflowId = publishWorkflowId(h.registryHost, request.releaseRepository, digest);
  const json = await runCli(['status', workflowId, '--json'], { env });
  assert.equal(json.exit, 1, json.stderr);
  const progress = JSON.parse(json.stdout) as PublishProgress;
  expectRejected(progress.result?.rejected, 'status --json');

  const text = await runCli(['status', workflowId], { env });
  assert.equal(text.exit, 1, text.stderr);
  const verdict = text.stdout.split('\n').find((line) => line.startsWith('DENIED: '));
  assert.ok(verdict, text.stdout);
  assert.ok(verdict.startsWith('DENIED: SIGNATURE_ERROR: '), verdict);
  const rejectedOrigin = progress.result!.rejected![0]!.origin;
  assert.equal(
    verdict.split(rejectedOrigin).length - 1,
    1,
    `the verdict names ${rejectedOrigin} once: ${verdict}`,
  );
});

test('an attestation layer that does not load, attached by anyone who can push to staging, is a rejection and does not block the publish', async () => {
  const { staging, digest, request } = await stagedRequest('unloadable');
  // Attacker material: a referrer of the image pushed with plain registry writes, whose one
  // layer claims to be a Sigstore bundle (v0.3 media type) and holds truncated JSON.
  await attachReferrer(h.registry, staging, digest, 'application/vnd.dev.sigstore.bundle.v0.3+json', [
    {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      bytes: Buffer.from('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", '),
    },
  ]);
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  const rejected = result.rejected ?? [];
  assert.equal(rejected.length, 1, JSON.stringify(rejected));
  assert.ok(rejected[0]!.origin.startsWith(`oci://${h.registryHost}/${staging}@`), rejected[0]!.origin);
  assert.equal(rejected[0]!.code, 'BUNDLE_MALFORMED');
});

test('a rejection quoting megabytes of what an attacker attached is recorded bounded, and does not block the publish', async () => {
  const { staging, digest, request } = await stagedRequest('huge-reason');
  // Attacker material: the image's referrers fallback tag overwritten, with plain registry
  // writes, by an index naming the image's own manifest under a media type that is a 3 MiB
  // string (the index is within the 4 MiB manifest limit). Its rejection quotes the media type.
  const mediaType = `application/vnd.attacker.${'x'.repeat(3 * 1024 * 1024)}`;
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType, digest, size: 2 }],
  };
  await h.registry.putManifest(
    staging,
    `sha256-${digest.slice(7)}`,
    Buffer.from(JSON.stringify(index)),
    'application/vnd.oci.image.index.v1+json',
  );
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason.slice(0, 500)}`);
  const rejected = result.rejected ?? [];
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]!.code, 'INPUT_INVALID');
  assert.ok(rejected[0]!.reason.length <= 1001, `${rejected[0]!.reason.length} characters`);
});

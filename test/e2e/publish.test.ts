import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { buildAndAttest, demoPolicy } from '../../src/demo/demo-builder.ts';
import { isGateError } from '../../src/core/errors.ts';
import { pae } from '../../src/core/verify/dsse-pae.ts';
import { sealIdentity } from '../../src/core/identity-seal.ts';
import { publishWorkflowId, type PublishProgress } from '../../src/workflows/contract.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import { collectionsOf } from '../../src/archive/archive.ts';
import { attachReferrer, getReferrer, listReferrers } from '../../src/registry/referrers.ts';
import { copyImage } from '../../src/registry/copy-image.ts';

let h: PublishHarness;
before(async () => {
  h = await startPublishHarness();
});
after(async () => {
  await h?.close();
});

async function stagedImage(
  opts: Parameters<typeof buildAndAttest>[2] extends infer O ? Partial<O> : never = {},
) {
  const staging = `staging/${uniqueName('app')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
    ...opts,
  });
  return { staging, digest: built.digest };
}

async function notInRelease(repo: string, digest: string) {
  await assert.rejects(h.registry.resolve(repo, digest), (err: unknown) => isGateError(err));
}

async function waitForStatus(handle: { query: <T>(name: string) => Promise<T> }, status: string) {
  for (let i = 0; i < 100; i++) {
    try {
      const progress = await handle.query<PublishProgress>('progress');
      if (progress.status === status) return progress;
    } catch {
      // the first workflow task may not have run yet
    }
    await sleep(200);
  }
  throw new Error(`workflow never reached ${status}`);
}

test('a correctly built image is published with its VSA and provenance, and the decision is archived', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, { tag: 'v1.0.0' });
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.outcome, 'PASSED');
  assert.equal(result.published?.digest, digest);

  const release = request.releaseRepository;
  assert.equal((await h.registry.resolve(release, 'v1.0.0')).digest, digest);
  const referrers = await listReferrers(h.registry, release, digest);
  const vsaDescriptor = referrers.find(
    (r) =>
      r.annotations?.['dev.sigstore.bundle.predicateType'] === 'https://slsa.dev/verification_summary/v1',
  );
  assert.ok(vsaDescriptor, 'a VSA is attached to the published image');
  assert.ok(
    referrers.some(
      (r) => r.annotations?.['dev.sigstore.bundle.predicateType'] === 'https://slsa.dev/provenance/v1',
    ),
    'a copy of the provenance is attached',
  );
  const referrer = await getReferrer(h.registry, release, digest, vsaDescriptor);
  const layer = referrer.manifest.layers[0];
  assert.ok(layer);
  const bundle = JSON.parse(
    Buffer.from(await h.registry.getAttestationLayer(release, layer)).toString('utf8'),
  );
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const signature = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
  const publicKey = createPublicKey(h.deps.signer.publicKeyPem);
  assert.ok(verify('sha256', pae(bundle.dsseEnvelope.payloadType, payload), publicKey, signature));
  const vsa = JSON.parse(payload.toString('utf8'));
  assert.equal(vsa.predicateType, 'https://slsa.dev/verification_summary/v1');
  assert.equal(vsa.subject[0].digest.sha256, digest.slice(7));
  assert.equal(vsa.predicate.verificationResult, 'PASSED');
  assert.deepEqual(vsa.predicate.verifiedLevels, ['SLSA_BUILD_LEVEL_2']);
  assert.equal(vsa.predicate.policy.digest.sha256, result.policyDigest?.slice(7));

  // Time-of-use verification: a consumer checks the attached VSA with slsa-gate verify.
  const vsaFile = join(h.dir, 'vsa.json');
  const keyFile = join(h.dir, 'vsa.pub');
  writeFileSync(vsaFile, JSON.stringify(bundle));
  writeFileSync(keyFile, h.deps.signer.publicKeyPem);
  const verifyVsa = (resourceUri: string) =>
    spawnSync(
      process.execPath,
      [
        fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
        'verify',
        '--digest',
        digest,
        '--attestation',
        vsaFile,
        '--public-key',
        keyFile,
        '--public-key-id',
        h.deps.signer.keyId,
        '--mode',
        'vsa',
        '--verifier-id',
        h.config.verifierId,
        '--resource-uri',
        resourceUri,
        '--verified-level',
        'SLSA_BUILD_LEVEL_2',
      ],
      { encoding: 'utf8' },
    );
  const accepted = verifyVsa(`oci://${h.registryHost}/${release}`);
  assert.equal(accepted.status, 0, accepted.stdout + accepted.stderr);
  const elsewhere = verifyVsa(`oci://${h.registryHost}/release/other`);
  assert.equal(elsewhere.status, 1);
  assert.match(elsewhere.stdout, /VSA_MISMATCH/);

  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.status, 'published');
  assert.equal(decision?.published?.digest, digest);
  assert.equal(decision?.published?.vsaDigest, result.published?.vsaDigest);
});

test('tampered provenance is denied: nothing is published and the denial is archived', async () => {
  const { staging, digest } = await stagedImage({
    tamper: (s) => {
      (s.predicate as { runDetails: { builder: { id: string } } }).runDetails.builder.id =
        'https://slsa-gate.dev/demo-builder@v2';
    },
  });
  const request = requestFor(h, staging, digest);
  const result = await h.publish(request);
  assert.equal(result.status, 'DENIED');
  assert.equal(result.outcome, 'FAILED');
  // The denial names what was wrong: the edited statement no longer verifies under its signature
  // (it was reported as NO_PROVENANCE, a missing provenance).
  assert.equal(result.code, 'SIGNATURE_ERROR');
  await notInRelease(request.releaseRepository, digest);
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.status, 'denied');
  assert.equal(decision?.outcome, 'FAILED');
  assert.equal(decision?.attestationDigests.length, 1, 'the rejected attestation is archived as evidence');
});

test('an unexpected builder is denied with BUILDER_UNTRUSTED', async () => {
  const { staging, digest } = await stagedImage({
    provenance: { builderId: 'https://evil.example/builder@v1' },
  });
  const request = requestFor(h, staging, digest);
  const result = await h.publish(request);
  assert.equal(result.status, 'DENIED');
  assert.equal(result.checks.find((c) => c.id === 'builder')?.code, 'BUILDER_UNTRUSTED');
  await notInRelease(request.releaseRepository, digest);
});

test('a publish that needs approval waits, refuses the requester as approver, then publishes once approved', async () => {
  const { staging, digest } = await stagedImage();
  const base = requestFor(h, staging, digest, {
    requester: 'alice',
    policy: { approvalRequired: true, twoPersonRule: true },
  });
  const workflowId = publishWorkflowId(base.releaseRegistry, base.releaseRepository, digest);
  // Alice asked through the API with her token: the request carries her sealed identity.
  const request = h.sealRequest('alice', base);
  const handle = await h.start(request);
  const waiting = await waitForStatus(handle, 'AwaitingApproval');
  assert.equal(waiting.outcome, 'NEEDS_APPROVAL');
  const description = await handle.describe();
  const status = description.searchAttributes.PublishStatus;
  assert.deepEqual(status, ['AwaitingApproval']);
  await notInRelease(request.releaseRepository, digest);
  const bound = await h.verdictBinding(handle);

  const refusedWith = (code: string) => (err: unknown) =>
    err instanceof WorkflowUpdateFailedError &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === code;
  await assert.rejects(
    handle.executeUpdate('approve', { args: [{ approver: 'alice', reason: 'self-approval' }] }),
    refusedWith('APPROVER_NOT_ALLOWED'),
  );
  // Attacker material (`approve --approver not-mallory` from the same shell published):
  // a typed name with no verified identity, as from the Temporal UI or a CLI with Temporal access.
  // Before verified approvals this Update published.
  await assert.rejects(
    handle.executeUpdate('approve', { args: [{ approver: 'not-alice', reason: 'a second name' }] }),
    refusedWith('APPROVER_NOT_ALLOWED'),
  );
  // Attacker material: alice's own token (sealed by the API for her) with another display name.
  await assert.rejects(
    handle.executeUpdate('approve', {
      args: [
        {
          approver: 'bob',
          reason: 'my token, his name',
          identity: h.sealToken('alice', 'approve', workflowId, bound.runId, bound.requestDigest),
        },
      ],
    }),
    refusedWith('APPROVER_NOT_ALLOWED'),
  );
  // Attacker material: bob's seal from another workflow, and a seal made with another key.
  await assert.rejects(
    handle.executeUpdate('approve', {
      args: [
        { approver: 'bob', reason: 'replayed', identity: h.sealToken('bob', 'approve', 'publish:other') },
      ],
    }),
    refusedWith('APPROVER_NOT_ALLOWED'),
  );
  // Attacker material: bob's seal for this workflow id but an earlier run (the same digest
  // published to this repository under another tag reuses the id), and one naming no run.
  for (const runId of ['an-earlier-run', undefined]) {
    await assert.rejects(
      handle.executeUpdate('approve', {
        args: [
          {
            approver: 'bob',
            reason: 'replayed',
            identity: h.sealToken('bob', 'approve', workflowId, runId, bound.requestDigest),
          },
        ],
      }),
      refusedWith('APPROVER_NOT_ALLOWED'),
    );
  }
  const forged = sealIdentity(randomBytes(32), {
    identity: { kind: 'token', id: 'token:bob', name: 'bob' },
    purpose: 'approve',
    workflowId,
  });
  await assert.rejects(
    handle.executeUpdate('approve', { args: [{ approver: 'bob', reason: 'forged', identity: forged }] }),
    refusedWith('APPROVER_NOT_ALLOWED'),
  );
  await notInRelease(request.releaseRepository, digest);
  await handle.executeUpdate('approve', {
    args: [
      {
        approver: 'bob',
        reason: 'reviewed the change',
        identity: h.sealToken('bob', 'approve', workflowId, bound.runId, bound.requestDigest),
      },
    ],
  });
  const result = await handle.result();
  assert.equal(result.status, 'PUBLISHED');
  // The memo keeps what the run wrote while it waited (docs/security-model.md#waiting-for-a-publish).
  const memo = (await handle.describe()).memo;
  assert.equal(memo?.outcome, 'Published');
  assert.equal(memo?.requestDigest, bound.requestDigest);
  assert.equal(memo?.approvalsRequired, 1);
  assert.equal(result.approval?.approver, 'token:bob');
  assert.equal((await h.registry.resolve(request.releaseRepository, digest)).digest, digest);
  const approvals = await h.deps.archive.listApprovals(result.decisionId);
  assert.deepEqual(
    approvals.map((a) => [a.approver, a.verdict, a.reason]),
    [['token:bob', 'approve', 'reviewed the change']],
  );
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.equal(decision?.requester, 'token:alice', 'the verified requester is recorded, not the typed name');
});

test('an approver the rule does not name is refused; one it names approves', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, {
    policy: { approvalRequired: true, approvers: ['token:release-manager', '^token:lead-[a-z]+$'] },
  });
  const handle = await h.start(request);
  await waitForStatus(handle, 'AwaitingApproval');
  const { runId, requestDigest } = await h.verdictBinding(handle);
  // Attacker material: a real identity the API verified (bob holds an approve-scoped token),
  // but not one the rule names. Before per-rule approvers, any approver counted.
  await assert.rejects(
    handle.executeUpdate('approve', {
      args: [
        {
          approver: 'bob',
          reason: 'ok',
          identity: h.sealToken('bob', 'approve', handle.workflowId, runId, requestDigest),
        },
      ],
    }),
    (err: unknown) =>
      err instanceof WorkflowUpdateFailedError &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === 'APPROVER_NOT_ALLOWED',
  );
  // Attacker material: a token name that extends a permitted one (`lead-ann.evil`): the pattern is anchored.
  await assert.rejects(
    handle.executeUpdate('approve', {
      args: [
        {
          approver: 'x',
          reason: 'ok',
          identity: h.sealToken('lead-ann.evil', 'approve', handle.workflowId, runId, requestDigest),
        },
      ],
    }),
    (err: unknown) => err instanceof WorkflowUpdateFailedError,
  );
  await notInRelease(request.releaseRepository, digest);
  await handle.executeUpdate('approve', {
    args: [
      {
        approver: 'ann',
        reason: 'reviewed',
        identity: h.sealToken('lead-ann', 'approve', handle.workflowId, runId, requestDigest),
      },
    ],
  });
  const result = await handle.result();
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  assert.equal(result.approval?.approver, 'token:lead-ann');
});

test('a rejected publish is denied and nothing is published', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, { policy: { approvalRequired: true } });
  const handle = await h.start(request);
  await waitForStatus(handle, 'AwaitingApproval');
  const { runId, requestDigest } = await h.verdictBinding(handle);
  await handle.executeUpdate('reject', {
    args: [
      {
        approver: 'carol',
        reason: 'not this week',
        identity: h.sealToken('carol', 'reject', handle.workflowId, runId, requestDigest),
      },
    ],
  });
  const result = await handle.result();
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, 'APPROVAL_REJECTED');
  await notInRelease(request.releaseRepository, digest);
  assert.equal((await h.deps.archive.getDecision(result.decisionId))?.status, 'rejected');
});

test('an approval deadline that passes rejects the publish', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, {
    policy: { approvalRequired: true, approvalDeadline: 'PT2S' },
  });
  const result = await h.publish(request);
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, 'APPROVAL_EXPIRED');
  await notInRelease(request.releaseRepository, digest);
  assert.equal((await h.deps.archive.getDecision(result.decisionId))?.status, 'expired');
});

test('the same digest requested twice at once gives one workflow and one publish', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest);
  const [a, b] = await Promise.all([h.start(request), h.start(request)]);
  assert.equal(a.workflowId, b.workflowId);
  assert.equal((await a.describe()).runId, (await b.describe()).runId);
  const [ra, rb] = await Promise.all([a.result(), b.result()]);
  assert.equal(ra.status, 'PUBLISHED');
  assert.deepEqual(ra, rb);
  const decisions = await h.deps.archive.findDecisionsByDigest(digest);
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0]?.status, 'published');
});

test('a referrer planted in the staging repository for another image does not block the publish', async () => {
  const { staging, digest } = await stagedImage();
  const other = await stagedImage();
  // Someone with push access to staging copies another image's referrers index under this image's fallback tag.
  await attachReferrer(h.registry, other.staging, other.digest, 'application/vnd.example.note', [
    { mediaType: 'text/plain', bytes: Buffer.from('not an attestation') },
  ]);
  const fetched = await h.registry.getManifestByTag(other.staging, `sha256-${other.digest.slice(7)}`);
  assert.ok(fetched);
  const index = fetched.bytes;
  const planted = JSON.parse(Buffer.from(index).toString('utf8'));
  for (const m of planted.manifests) await copyImage(h.registry, other.staging, staging, m.digest);
  await h.registry.putManifest(
    staging,
    `sha256-${digest.slice(7)}`,
    index,
    'application/vnd.oci.image.index.v1+json',
  );
  assert.equal((await listReferrers(h.registry, staging, digest)).length, planted.manifests.length);

  const result = await h.publish(requestFor(h, staging, digest));
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
});

test('an older release replayed onto a tag that holds a newer one is denied with ROLLBACK', async () => {
  const release = `release/${uniqueName('app')}`;
  const newer = await stagedImage({ tag: 'v1.1.0' });
  const older = await stagedImage({ tag: 'v1.0.0' });
  // The operator's rule lets these images go to `release` under `latest`.
  const toLatest = { destinations: [`${h.registryHost}/${release}`], tags: ['source-tag', 'latest'] };
  const first = await h.publish({
    ...requestFor(h, newer.staging, newer.digest, { release, policy: { release: toLatest } }),
    releaseTag: 'latest',
  });
  assert.equal(first.status, 'PUBLISHED', `${first.code}: ${first.reason}`);
  const request = { ...requestFor(h, older.staging, older.digest, { release }), releaseTag: 'latest' };
  // One policy covers both staging repositories.
  h.policies.set(
    older.digest,
    demoPolicy([`${h.registryHost}/${older.staging}`, `${h.registryHost}/${newer.staging}`], {
      release: toLatest,
    }),
  );
  const replayed = await h.publish(request);
  assert.equal(replayed.status, 'DENIED');
  assert.equal(replayed.checks.find((c) => c.id === 'rollback')?.code, 'ROLLBACK');
  assert.equal((await h.registry.resolve(release, 'latest')).digest, newer.digest);
});

test('SemVer 2.0.0 §11: v1.0.0-rc.9 replayed onto a tag that holds v1.0.0-rc.10 is denied with ROLLBACK', async () => {
  const release = `release/${uniqueName('app')}`;
  // The attacker's material: the valid, signed, older build of tag v1.0.0-rc.9, requested onto
  // `next` after rc.10 was published there. Compared as text, "rc.9" sorts after "rc.10".
  const older = await stagedImage({ tag: 'v1.0.0-rc.9' });
  const newer = await stagedImage({ tag: 'v1.0.0-rc.10' });
  const toNext = { destinations: [`${h.registryHost}/${release}`], tags: ['next'] };
  const first = await h.publish({
    ...requestFor(h, newer.staging, newer.digest, { release, policy: { release: toNext } }),
    releaseTag: 'next',
  });
  assert.equal(first.status, 'PUBLISHED', `${first.code}: ${first.reason}`);
  const replayed = await h.publish({
    ...requestFor(h, older.staging, older.digest, { release, policy: { release: toNext } }),
    releaseTag: 'next',
  });
  assert.equal(replayed.status, 'DENIED');
  assert.equal(replayed.checks.find((c) => c.id === 'rollback')?.code, 'ROLLBACK');
  assert.equal((await h.registry.resolve(release, 'next')).digest, newer.digest);
});

test('a version tag published from provenance built at another ref is denied with REF_MISMATCH', async () => {
  const { staging, digest } = await stagedImage({ tag: 'v2.0.0' });
  const request = { ...requestFor(h, staging, digest), releaseTag: 'v2.0.1' };
  const result = await h.publish(request);
  assert.equal(result.status, 'DENIED');
  assert.equal(result.checks.find((c) => c.id === 'rollback')?.code, 'REF_MISMATCH');
  await notInRelease(request.releaseRepository, digest);
});

test('a VSA planted in the release repository with the decision annotation is not taken for ours', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, { policy: { approvalRequired: true } });
  const handle = await h.start(request);
  await waitForStatus(handle, 'AwaitingApproval');
  const { runId, requestDigest } = await h.verdictBinding(handle);
  // Someone with push access to the release repository plants a forged VSA for this very run.
  await copyImage(h.registry, staging, request.releaseRepository, digest);
  const forged = Buffer.from(
    JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', forged: true }),
  );
  await attachReferrer(
    h.registry,
    request.releaseRepository,
    digest,
    'application/vnd.dev.sigstore.bundle.v0.3+json',
    [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', bytes: forged }],
    {
      'dev.slsa-gate.decision-id': `${handle.workflowId}/${runId}`,
      'dev.sigstore.bundle.predicateType': 'https://slsa.dev/verification_summary/v1',
    },
  );
  await handle.executeUpdate('approve', {
    args: [
      {
        approver: 'bob',
        reason: 'ok',
        identity: h.sealToken('bob', 'approve', handle.workflowId, runId, requestDigest),
      },
    ],
  });
  const result = await handle.result();
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  const forgedDigest = `sha256:${createHash('sha256').update(forged).digest('hex')}`;
  assert.notEqual(result.published?.vsaDigest, forgedDigest);
  const issued = await collectionsOf(h.deps.archive).vsas.findOne({
    decisionId: result.decisionId,
    direction: 'issued',
  });
  assert.ok(issued);
  const bundle = JSON.parse(Buffer.from(issued.raw.buffer).toString('utf8'));
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  assert.ok(
    verify(
      'sha256',
      pae(bundle.dsseEnvelope.payloadType, payload),
      createPublicKey(h.deps.signer.publicKeyPem),
      Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64'),
    ),
  );
});

/**
 * Issue 12 on the real services (Temporal dev server + a real Worker, registry, FerretDB):
 * the request cannot bring its own policy, bad or oversized input is denied before any
 * registry write with an archived decision, a policy that makes evaluation throw is a coded
 * denial, a cancelled run is recorded as cancelled everywhere, and publishing what is already
 * published returns the first decision. Each test says what happened before the change.
 *
 * The candidates are real images made by the demo builder (src/demo/demo-builder.ts) with
 * provenance signed by its key; attacker material is made as each comment says.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { collectionsOf } from '../../src/archive/archive.ts';
import { sha256Digest } from '../../src/archive/digest.ts';
import { buildAndAttest, demoPolicy } from '../../src/demo/demo-builder.ts';
import type { PublishProgress, PublishRequest, PublishResult } from '../../src/workflows/contract.ts';
import { assertNothingPublished } from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

let h: PublishHarness;

before(async () => {
  h = await startPublishHarness();
});

after(async () => {
  await h?.close();
});

async function stagedImage(opts: Partial<Parameters<typeof buildAndAttest>[2]> = {}) {
  const staging = `staging/${uniqueName('app')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
    ...opts,
  });
  return { staging, digest: built.digest };
}

/** The archived decision of a denial: FAILED, denied, with the code. */
async function assertArchivedDenial(result: PublishResult, code: string) {
  assert.equal(result.status, 'DENIED');
  assert.equal(result.code, code, result.reason);
  const decision = await h.deps.archive.getDecision(result.decisionId);
  assert.ok(decision, 'the denial is archived');
  assert.equal(decision.status, 'denied');
  assert.ok(decision.checks.some((c) => c.code === code));
}

test('a request that carries its own policy is denied INPUT_INVALID; the operator policy decides', async () => {
  // Attacker material: provenance naming a builder the operator's policy does not trust (the
  // demo builder's signature over a statement with builder.id changed, via buildAndAttest's tamper),
  // sent with a lax policy that trusts that builder, the way `publish --policy lax.yaml` did.
  const { staging, digest } = await stagedImage({
    tamper: (s) => {
      (s.predicate as { runDetails: { builder: { id: string } } }).runDetails.builder.id =
        'https://evil.example/builder@v1';
    },
  });
  const request = requestFor(h, staging, digest);
  const lax = demoPolicy([`${h.registryHost}/${staging}`]).replace(
    /"builders": \[[^\]]*\]/,
    '"builders": ["https://evil.example/builder@v1"]',
  );
  const withPolicy = { ...request, policy: { text: lax, origin: 'lax.json' } } as PublishRequest;
  const result = await h.publish(withPolicy);
  // Before: the workflow evaluated the requester's policy and published with a gate-signed VSA.
  await assertArchivedDenial(result, 'INPUT_INVALID');
  assert.match(result.reason, /policy/);
  await assertNothingPublished(h.registry, request.releaseRepository, digest);
  // Without the field the operator's policy evaluates it, and denies the untrusted builder.
  const plain = await h.publish(requestFor(h, staging, digest));
  assert.equal(plain.status, 'DENIED');
  assert.ok(plain.policyDigest);
  await assertNothingPublished(h.registry, request.releaseRepository, digest);
  const version = await h.deps.archive.currentPolicyVersion();
  assert.equal(plain.policyDigest, version?.digest, 'the decision names the policy in force');
  const decision = await h.deps.archive.getDecision(plain.decisionId);
  assert.equal(decision?.policy.version, version?.version);
});

test('a bad or 100 KB release tag is denied INPUT_INVALID before anything reaches the release repository', async () => {
  for (const tag of ['bad tag!', 'v'.repeat(100_000)]) {
    const { staging, digest } = await stagedImage();
    // Attacker material: a malformed or oversized tag, sent straight to Temporal past the CLI's checks.
    const request = { ...requestFor(h, staging, digest), releaseTag: tag };
    const result = await h.publish(request);
    // Before: the copy ran first, the tag failed after it, and the manifest stayed in the release repository.
    await assertArchivedDenial(result, 'INPUT_INVALID');
    assert.match(result.reason, /releaseTag/);
    await assertNothingPublished(h.registry, request.releaseRepository, digest);
  }
});

test('a 100 KB requester is denied INPUT_INVALID with an archived decision, not a FAILED workflow', async () => {
  const { staging, digest } = await stagedImage();
  // Attacker material: a 100 KB requester name.
  const request = requestFor(h, staging, digest, { requester: 'm'.repeat(100_000) });
  // Before: the policy step passed, then the decision and the denial record both failed on it
  // and the workflow FAILED with nothing archived (this call threw WorkflowFailedError).
  const result = await h.publish(request);
  await assertArchivedDenial(result, 'INPUT_INVALID');
  assert.match(result.reason, /requester/);
  await assertNothingPublished(h.registry, request.releaseRepository, digest);
});

test('a policy whose evaluation throws a non-coded error is a bounded POLICY_INVALID denial', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest);
  h.policies.delete(digest);
  // Attacker material (a policy an operator was tricked into, stored by an older gate without
  // parsing): a YAML alias bomb, nine levels of ten aliases each. The yaml library refuses it
  // with a ReferenceError ("Excessive alias count"), which is not a GateError.
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `${levels.join('\n')}\nversion: 1\n`;
  await h.deps.archive.loadPolicy({
    digest: sha256Digest(bomb),
    text: bomb,
    loadedBy: 'test operator',
    origin: 'bomb.yaml',
  });
  const handle = await h.start(request);
  // Before: the activity failed with a retryable error forever and nothing was archived.
  const result = (await Promise.race([
    handle.result(),
    sleep(60_000).then(() => assert.fail('the evaluation is retried instead of denied')),
  ])) as PublishResult;
  await assertArchivedDenial(result, 'POLICY_INVALID');
  await assertNothingPublished(h.registry, request.releaseRepository, digest);
});

test('a cancelled publish is recorded as cancelled in the archive, the search attribute and the progress', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, { policy: { approvalRequired: true } });
  const handle = await h.start(request);
  const waiting = await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' });
  assert.equal(waiting?.status, 'AwaitingApproval');
  assert.ok(waiting.decisionId);
  await handle.cancel();
  await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError);
  // Before: the archive said awaiting-approval and PublishStatus stayed AwaitingApproval.
  const decision = await h.deps.archive.getDecision(waiting.decisionId);
  assert.equal(decision?.status, 'cancelled');
  const description = await handle.describe();
  assert.equal(description.status.name, 'CANCELLED');
  assert.deepEqual(description.searchAttributes.PublishStatus, ['Cancelled']);
  const progress = await handle.query<PublishProgress>('progress');
  assert.equal(progress.status, 'Cancelled');
  assert.equal(progress.result?.code, 'CANCELLED');
  await assertNothingPublished(h.registry, request.releaseRepository, digest);
});

test('publishing an already published digest returns the first decision and signs nothing', async () => {
  const { staging, digest } = await stagedImage();
  const request = requestFor(h, staging, digest, { tag: 'v1.0.0' });
  const first = await h.publish(request);
  assert.equal(first.status, 'PUBLISHED', `${first.code}: ${first.reason}`);
  // The first run has closed: the same request starts a new run under the same workflow id.
  const again = await h.publish(request);
  // Before: a second run, a second decision and a second VSA.
  assert.equal(again.status, 'PUBLISHED');
  assert.equal(again.alreadyPublished, true);
  assert.equal(again.decisionId, first.decisionId);
  assert.equal(again.published?.vsaDigest, first.published?.vsaDigest);
  const decisions = await h.deps.archive.findDecisionsByDigest(digest);
  assert.equal(decisions.length, 1);
  // One VSA signed for this digest, whatever decision: the second request signed nothing.
  const issued = await collectionsOf(h.deps.archive).vsas.countDocuments({
    direction: 'issued',
    subjectDigest: digest,
  });
  assert.equal(issued, 1);
});

test('a destination or tag the rule does not name is denied DESTINATION_NOT_ALLOWED and archived', async () => {
  const { staging, digest } = await stagedImage();
  const base = requestFor(h, staging, digest, { tag: 'v1.0.0' });
  // Attacker material: the same verified candidate sent to a release repository of the
  // attacker's choosing (`publish --to` any repository the gate can push to).
  const elsewhere = { ...base, releaseRepository: `release/${uniqueName('elsewhere')}` };
  const moved = await h.publish(elsewhere);
  // Before: published there, with a VSA signed by the gate.
  await assertArchivedDenial(moved, 'DESTINATION_NOT_ALLOWED');
  await assertNothingPublished(h.registry, elsewhere.releaseRepository, digest);

  // Attacker material: `latest`, which this rule (tags: source-tag only) does not list.
  const latest = await h.publish({ ...base, releaseTag: 'latest' });
  await assertArchivedDenial(latest, 'DESTINATION_NOT_ALLOWED');
  await assertNothingPublished(h.registry, base.releaseRepository, digest);

  // The destination and source tag the rule names: published.
  const ok = await h.publish(base);
  assert.equal(ok.status, 'PUBLISHED', `${ok.code}: ${ok.reason}`);
  assert.equal(ok.checks.find((c) => c.id === 'destination')?.result, 'PASS');
});

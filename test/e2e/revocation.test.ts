/**
 * Revocation on the real services: a Temporal dev server with a real Worker, the registry,
 * FerretDB, the CLI as a process and the API over HTTP.
 *
 * Failing before: there was no `slsa-gate revoke` and no `POST /api/v1/revocations`; a digest
 * revoked in the archive and requested again under another tag (`latest`, which the rule
 * allows) was published with a fresh signed VSA, `verify-image` and the webhook passed it from
 * the registry (they read no revocation), and the drift monitor's `revoked` finding went away
 * once the digest was published again. A publish awaiting approval when its digest was
 * revoked published on the approval (checked by removing the check before the copy).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { hashToken, TokenVerifier } from '../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../src/api/server.ts';
import type { DriftRecord } from '../../src/archive/drift-record.ts';
import { createAdmissionReviewer, type AdmissionReview } from '../../src/consumers/admission-webhook.ts';
import { archiveRevocationCheck } from '../../src/consumers/archive-revocation.ts';
import { SLSA_VSA_V1 } from '../../src/core/formats/slsa/vsa-v1.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { BUNDLE_ANNOTATIONS } from '../../src/registry/consumer-attestations.ts';
import { listReferrers } from '../../src/registry/referrers.ts';
import { revocationNotice } from '../../src/registry/revocation-notice.ts';
import type { MonitorReleasesResult } from '../../src/workflows/monitor-releases.ts';
import type { RevokeResult } from '../../src/workflows/revocation-contract.ts';
import { publishWorkflowId, type PublishResult } from '../../src/workflows/contract.ts';
import { runSlsaGate } from '../helpers/cli-process.ts';
import { listTags } from '../helpers/publish-checks.ts';
import { pollProgress } from '../helpers/publish-progress.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';

let h: PublishHarness;
let server: Server;
let base: string;
let env: NodeJS.ProcessEnv;
let vsaPublicKey: string;
const tokens = { admin: randomBytes(32).toString('hex'), ci: randomBytes(32).toString('hex') };

before(async () => {
  h = await startPublishHarness();
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: h.config.temporalAddress,
    TEMPORAL_NAMESPACE: h.config.temporalNamespace,
    SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
    MONGODB_URI: h.config.mongoUri,
    SLSA_GATE_DB: h.config.database,
  };
  vsaPublicKey = join(h.dir, 'vsa.pub');
  writeFileSync(vsaPublicKey, h.deps.signer.publicKeyPem);
  server = createApiServer({
    archive: h.deps.archive,
    tokens: new TokenVerifier({
      tokens: [
        { name: 'admin', sha256: hashToken(tokens.admin), scopes: ['admin'] },
        // The CI job's credential: it may request publishes, not revoke.
        {
          name: 'ci',
          sha256: hashToken(tokens.ci),
          scopes: ['publish', 'audit:read'],
          sources: ['github.com/example/app'],
        },
      ],
      oidc: [],
      grants: [],
    }),
    publish: {
      client: h.client,
      taskQueue: h.config.taskQueue,
      identityKey: h.identityKey,
      archive: h.deps.archive,
      temporalTimeoutMs: 10_000,
    },
    log: () => {},
  });
  base = (await listenApi(server, 0)).url;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
});

const slsaGate = (...args: string[]) => runSlsaGate(env, ...args);

/** `slsa-gate revoke DIGEST --reason … --by … --json`, which must succeed. */
async function revokeWithCli(digest: string, reason: string, by: string): Promise<RevokeResult> {
  const revoked = await slsaGate('revoke', digest, '--reason', reason, '--by', by, '--json');
  assert.equal(revoked.code, 0, revoked.err);
  return JSON.parse(revoked.out) as RevokeResult;
}

/** `slsa-gate verify-image IMAGE` with the gate's key and verifier id, from the registry alone unless `extra` says more. */
const verifyImage = (image: string, ...extra: string[]) =>
  slsaGate(
    'verify-image',
    image,
    '--verifier-id',
    h.config.verifierId,
    '--public-key',
    vsaPublicKey,
    '--insecure-registry',
    h.registryHost,
    ...extra,
  );

/** A request for `tag` of a fresh image in `staging`; the rule lets it go out as `tag` or `latest`. */
async function stage(staging: string, tag: string, rule: { approvalRequired?: boolean } = {}) {
  const built = await buildAndAttest(h.registry, staging, {
    tag,
    seed: `${staging}-${tag}`,
    key: h.builderKey,
  });
  const release = staging.replace(/^staging\//, 'release/');
  const request = requestFor(h, staging, built.digest, {
    tag,
    policy: {
      release: { destinations: [`${h.registryHost}/${release}`], tags: [tag, 'latest'] },
      ...rule,
    },
  });
  return { request, release, digest: built.digest };
}

async function publish(staging: string, tag: string) {
  const staged = await stage(staging, tag);
  const result = await h.publish(staged.request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  return { ...staged, decisionId: result.decisionId };
}

/** One run of the drift monitor over `release`; its findings as `tag kind digest [expected]`. */
async function monitor(release: string): Promise<string[]> {
  const repository = `${h.registryHost}/${release}`;
  const workflowId = uniqueName('monitor-run');
  const result: MonitorReleasesResult = await h.client.workflow.execute('monitorReleases', {
    taskQueue: h.config.taskQueue,
    workflowId,
    args: [{ repositories: [repository] }],
  });
  assert.equal(result.repositories[0]?.repository, repository);
  const drift = await h.deps.archive.listDrift({ repository, limit: 1000 });
  const mine = drift.filter((d: DriftRecord) => d.workflowId === workflowId);
  return mine
    .map((d) => `${d.tag} ${d.kind} ${d.digest}${d.expectedDigest ? ` ${d.expectedDigest}` : ''}`)
    .sort();
}

/** The gate's VSAs attached to `digest` as bundle referrers. */
async function vsaReferrers(release: string, digest: string) {
  return (await listReferrers(h.registry, release, digest)).filter(
    (d) => d.annotations?.[BUNDLE_ANNOTATIONS.predicateType] === SLSA_VSA_V1,
  );
}

function podReview(image: string): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'apps',
      operation: 'CREATE',
      object: { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

test('slsa-gate revoke: the digest requested again under another tag is denied REVOKED with no new VSA, its tags are moved, verify-image and the webhook fail it, the monitor keeps reporting it', async () => {
  const staging = `staging/${uniqueName('revoked')}`;
  const revoked = await publish(staging, 'v1.0.0');
  const kept = await publish(staging, 'v1.1.0');
  const release = revoked.release;
  const ref = `${h.registryHost}/${release}@${revoked.digest}`;

  const result = await revokeWithCli(revoked.digest, 'built on a compromised runner', 'alice');
  assert.equal(result.recorded, true);
  assert.deepEqual([result.revocation.by, result.revocation.verified], ['alice', false]);
  const notice = revocationNotice(revoked.digest).digest;
  assert.deepEqual(result.releases, [
    {
      repository: `${h.registryHost}/${release}`,
      decisionId: revoked.decisionId,
      vsaDigest: result.releases[0]!.vsaDigest,
      moved: [{ tag: 'v1.0.0', notice }],
      untouched: [],
    },
  ]);
  const stored = await h.deps.archive.revocationOf(revoked.digest);
  assert.deepEqual(
    [stored?.by, stored?.verified, stored?.reason],
    ['alice', false, 'built on a compromised runner'],
  );
  // The tag names the notice now; the image stays pullable by digest, next to its FAILED VSA.
  assert.equal((await h.registry.resolve(release, 'v1.0.0')).digest, notice);
  assert.equal(await h.registry.manifestExists(release, revoked.digest), true);
  assert.equal((await h.registry.resolve(release, 'v1.1.0')).digest, kept.digest);
  const vsas = (await h.deps.archive.issuedVsas(revoked.digest, 100)).vsas;
  assert.deepEqual(vsas.map((v) => v.verifiedLevels).sort(), [['FAILED'], ['SLSA_BUILD_LEVEL_2']]);
  assert.ok(vsas.every((v) => v.decisionId === revoked.decisionId));

  assert.deepEqual(await monitor(release), [`v1.0.0 revoked ${notice} ${revoked.digest}`]);

  // Attacker material: the CI job asks for the revoked digest again, under `latest` (a tag the
  // rule allows), and under its first tag: a real request through the worker each time.
  for (const releaseTag of ['latest', 'v1.0.0']) {
    const again = await h.publish({ ...revoked.request, releaseTag });
    assert.equal(again.status, 'DENIED', releaseTag);
    assert.equal(again.code, 'REVOKED', releaseTag);
    assert.equal(again.published, undefined);
    const denial = await h.deps.archive.getDecision(again.decisionId);
    assert.equal(denial?.status, 'denied');
    assert.deepEqual(denial?.failingCodes, ['REVOKED']);
  }
  assert.equal((await h.deps.archive.issuedVsas(revoked.digest, 100)).vsas.length, 2, 'no new VSA');
  assert.equal((await vsaReferrers(release, revoked.digest)).length, 2, 'no new VSA attached');
  assert.ok(!(await listTags(h.registryHost, release)).includes('latest'));

  // Attacker material: with push access to the release repository, a real PUT of the revoked
  // digest's manifest under the tag `stable`.
  await h.registry.tag(release, 'stable', revoked.digest);
  assert.deepEqual(await monitor(release), [
    `stable revoked ${revoked.digest}`,
    `v1.0.0 revoked ${notice} ${revoked.digest}`,
  ]);

  // A consumer with the registry alone: the genuine PASSED VSA is still attached, the gate's
  // FAILED VSA fails the image whatever tag it is pulled by.
  for (const image of [ref, `${h.registryHost}/${release}:stable`]) {
    const verify = await verifyImage(image);
    assert.equal(verify.code, 1, verify.out + verify.err);
    assert.match(verify.out, /^FAILED: REVOKED: /);
  }
  // With archive access too.
  const withArchive = await verifyImage(
    ref,
    '--mongodb-uri',
    h.config.mongoUri,
    '--db',
    h.config.database,
    '--json',
  );
  assert.equal(withArchive.code, 1, withArchive.err);
  const verdict = JSON.parse(withArchive.out) as { failure: { code: string; reason: string } };
  assert.equal(verdict.failure.code, 'REVOKED');
  assert.match(verdict.failure.reason, /revoked by alice/);
  // The image the gate did not revoke still passes.
  const keptVerify = await verifyImage(`${h.registryHost}/${release}@${kept.digest}`);
  assert.equal(keptVerify.code, 0, keptVerify.out + keptVerify.err);

  // The webhook, from the registry alone and with the archive: denied REVOKED; the kept image admitted.
  const expect = {
    publicKeys: [h.deps.signer.publicKeyPem],
    verifierId: h.config.verifierId,
    verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
  };
  for (const isRevoked of [undefined, archiveRevocationCheck(h.deps.archive)]) {
    const reviewer = createAdmissionReviewer({
      expect,
      registry: () => h.registry,
      ...(isRevoked ? { isRevoked } : {}),
    });
    const denied = await reviewer(podReview(ref));
    assert.equal(denied.length, 1);
    assert.match(denied[0]!, /REVOKED/);
    assert.deepEqual(await reviewer(podReview(`${h.registryHost}/${release}@${kept.digest}`)), []);
  }

  // Revoking again changes nothing: the first revocation stands, no VSA or tag is added.
  const tagsBefore = await listTags(h.registryHost, release);
  const repeated = await revokeWithCli(revoked.digest, 'another reason', 'bob');
  assert.equal(repeated.recorded, false);
  assert.deepEqual(
    [repeated.revocation.by, repeated.revocation.reason],
    ['alice', 'built on a compromised runner'],
  );
  assert.equal(repeated.releases[0]?.vsaDigest, result.releases[0]?.vsaDigest);
  assert.deepEqual(await listTags(h.registryHost, release), tagsBefore);
  assert.equal((await vsaReferrers(release, revoked.digest)).length, 2);
  assert.equal((await h.deps.archive.issuedVsas(revoked.digest, 100)).vsas.length, 2);
});

function call(path: string, token: string, body: unknown) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('POST /api/v1/revocations: only the admin scope revokes, the verified identity is archived, a bad body starts nothing', async () => {
  const staging = `staging/${uniqueName('api-revoked')}`;
  const revoked = await publish(staging, 'v2.0.0');
  const workflowId = `revoke:${revoked.digest}`;
  const body = { digest: revoked.digest, reason: 'signing key leaked' };

  // Attacker material: the CI job's own valid token (scope publish), and well-formed bodies
  // with an extra field that would name the revoker, or a digest that is not one.
  const forbidden = await call('/api/v1/revocations', tokens.ci, body);
  assert.equal(forbidden.status, 403);
  for (const [bad, parameter] of [
    [{ ...body, by: 'someone-else' }, 'by'],
    [{ ...body, digest: 'sha256:abc' }, 'digest'],
  ] as const) {
    const res = await call('/api/v1/revocations', tokens.admin, bad);
    assert.equal(res.status, 400);
    const error = ((await res.json()) as { error: { code: string; parameter: string } }).error;
    assert.deepEqual([error.code, error.parameter], ['INPUT_INVALID', parameter]);
  }
  await assert.rejects(h.client.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);
  assert.equal(await h.deps.archive.revocationOf(revoked.digest), null);

  const res = await call('/api/v1/revocations', tokens.admin, body);
  assert.equal(res.status, 202);
  const started = (await res.json()) as { workflowId: string; runId: string };
  assert.equal(started.workflowId, workflowId);
  const result = (await h.client.workflow.getHandle(workflowId, started.runId).result()) as RevokeResult;
  assert.deepEqual([result.revocation.by, result.revocation.verified], ['token:admin', true]);
  const stored = await h.deps.archive.revocationOf(revoked.digest);
  assert.deepEqual(
    [stored?.by, stored?.verified, stored?.reason],
    ['token:admin', true, 'signing key leaked'],
  );
  assert.deepEqual(
    result.releases[0]?.moved.map((m) => m.tag),
    ['v2.0.0'],
  );
  const again = await h.publish({ ...revoked.request, releaseTag: 'latest' });
  assert.equal(again.code, 'REVOKED');

  // Attacker material: the CI job's token asks the API for the revoked image again at its
  // first destination and tag, which the API answered from the publication record as
  // "already published" without asking the workflow.
  const repeat = await call('/api/v1/publishes', tokens.ci, {
    image: `${h.registryHost}/${staging}@${revoked.digest}`,
    to: `${h.registryHost}/${revoked.release}`,
    tag: 'v2.0.0',
  });
  assert.equal(repeat.status, 202, await repeat.clone().text());
  const { workflowId: publishId, runId } = (await repeat.json()) as { workflowId: string; runId: string };
  const denied = (await h.client.workflow.getHandle(publishId, runId).result()) as {
    status: string;
    code: string;
  };
  assert.deepEqual([denied.status, denied.code], ['DENIED', 'REVOKED']);
});

test('revoked while its publish awaits approval: the approval that follows publishes nothing, the run ends REVOKED', async () => {
  const staging = `staging/${uniqueName('pending')}`;
  const staged = await stage(staging, 'v3.0.0', { approvalRequired: true });
  const workflowId = publishWorkflowId(h.registryHost, staged.release, staged.digest);
  const handle = await h.start(h.sealRequest('alice', staged.request));
  assert.equal(
    (await pollProgress(handle, 'AwaitingApproval', { queryErrors: 'retry' }))?.status,
    'AwaitingApproval',
  );
  const bound = await h.verdictBinding(handle);

  const revocation = await revokeWithCli(staged.digest, 'pulled before release', 'carol');
  assert.deepEqual(revocation.releases, [], 'published nowhere yet');
  // A genuine approval by another verified identity, sent after the revocation.
  await handle.executeUpdate('approve', {
    args: [
      {
        approver: 'bob',
        reason: 'looks fine',
        identity: h.sealToken('bob', 'approve', workflowId, bound.runId, bound.requestDigest),
      },
    ],
  });
  const result = (await handle.result()) as PublishResult;
  assert.deepEqual([result.status, result.code], ['DENIED', 'REVOKED']);
  assert.equal(await h.registry.manifestExists(staged.release, staged.digest), false);
  assert.deepEqual(await listTags(h.registryHost, staged.release), []);
  assert.equal((await h.deps.archive.getDecision(result.decisionId))?.status, 'denied');
});

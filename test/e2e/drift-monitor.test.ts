/**
 * The drift monitor on a real Temporal Schedule, a real Worker and the local registry: one
 * triggered run finds an image pushed directly into a release repository and a tag moved to
 * another digest, archives both as drift events, and finds nothing in a clean repository.
 * With an unreadable repository among three, a run still reports the other two; images
 * pushed by digest are found; each new finding reaches a loopback receiver once, signed.
 * A mirror repository is judged against the release repository it copies (SLSA_GATE_MIRRORS).
 *
 * Failing before: there was no monitor; an image pushed around the gate stayed unnoticed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DRIFT_EVENT_TYPE,
  DRIFT_SIGNATURE_HEADER,
  driftNoticeId,
  driftNoticeSignatureValid,
} from '../../src/consumers/drift-notice.ts';
import { installMonitorSchedule } from '../../src/consumers/monitor-schedule.ts';
import { copyImage } from '../../src/registry/copy-image.ts';
import { DriftFindings, DriftKinds } from '../../src/workflows/search-attributes.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { buildImage, pushBuiltImage } from '../../src/registry/build-image.ts';
import type { MonitorReleasesResult } from '../../src/workflows/monitor-releases.ts';
import { listTags } from '../helpers/publish-checks.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { interopTools } from '../helpers/interop-tools.ts';
import { services, uniqueName } from '../helpers/services.ts';

let h: PublishHarness;
const scheduleId = uniqueName('monitor');

/** The operator's notification receiver: a loopback HTTP server keeping every notice it is sent. */
const noticeSecret = randomBytes(32);
const received: Array<{ body: Buffer; signature: string | undefined; contentType: string | undefined }> = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({
      body: Buffer.concat(chunks),
      signature: req.headers[DRIFT_SIGNATURE_HEADER] as string | undefined,
      contentType: req.headers['content-type'],
    });
    res.writeHead(204).end();
  });
});

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  // The operator's mirror map, in the worker's environment: `mirror/…` copies `release/…`.
  const host = new URL(services.registryUrl).host;
  h = await startPublishHarness(
    { driftWebhook: { url: `http://127.0.0.1:${port}/drift`, secret: noticeSecret } },
    { SLSA_GATE_MIRRORS: JSON.stringify({ [`${host}/mirror/`]: `${host}/release/` }) },
  );
});
after(async () => {
  receiver.close();
  await h?.client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await h?.close();
});

/** Publishes `tag` of a fresh image from `staging` through the gate; returns the release repository and digest. */
async function publish(staging: string, tag: string) {
  const built = await buildAndAttest(h.registry, staging, {
    tag,
    seed: `${staging}-${tag}`,
    key: h.builderKey,
  });
  const request = requestFor(h, staging, built.digest, { tag });
  const result = await h.publish(request);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  return { release: request.releaseRepository, digest: built.digest, decisionId: result.decisionId };
}

test('one scheduled run finds an image pushed around the gate, a moved tag and a revoked release, and nothing in a clean repository', async () => {
  const clean = await publish(`staging/${uniqueName('clean')}`, 'v1.0.0');
  const dirtyStaging = `staging/${uniqueName('dirty')}`;
  const first = await publish(dirtyStaging, 'v1.0.0');
  const second = await publish(dirtyStaging, 'v1.1.0');
  const third = await publish(dirtyStaging, 'v1.2.0');
  const dirty = first.release;
  // A published digest an administrator revoked afterwards, in the archive only: the tag
  // still names it, as when the revocation's registry steps have not run.
  await h.deps.archive.recordRevocation({
    subjectDigest: third.digest,
    reason: 'built from a compromised runner',
    by: 'admin@example.com',
    verified: false,
    at: new Date().toISOString(),
    workflowId: `revoke:${third.digest}`,
    runId: 'test',
  });

  // Attacker material: with push access to the release repository, (1) an image built locally
  // and pushed straight in as v9.9.9, and (2) the tag v1.0.0 moved to the digest the gate
  // published as v1.1.0 (a real PUT of that manifest under the tag).
  const planted = await pushBuiltImage(h.registry, dirty, buildImage({ seed: `${dirtyStaging}-attacker` }), {
    tag: 'v9.9.9',
  });
  await h.registry.tag(dirty, 'v1.0.0', second.digest);

  const host = h.registryHost;
  const schedule = await installMonitorSchedule(h.client, {
    taskQueue: h.config.taskQueue,
    every: '1h',
    input: { repositories: [`${host}/${clean.release}`, `${host}/${dirty}`] },
    scheduleId,
  });
  assert.equal(schedule.created, true);
  const handle = h.client.schedule.getHandle(scheduleId);
  await handle.trigger();
  let workflowId: string | undefined;
  for (let i = 0; i < 100 && workflowId === undefined; i++) {
    const action = (await handle.describe()).info.recentActions[0]?.action;
    workflowId = action?.workflow.workflowId;
    if (workflowId === undefined) await sleep(200);
  }
  assert.ok(workflowId, 'the schedule started a run');
  const result = (await h.client.workflow.getHandle(workflowId).result()) as MonitorReleasesResult;

  const byRepo = Object.fromEntries(result.repositories.map((r) => [r.repository, r]));
  assert.deepEqual(byRepo[`${host}/${clean.release}`], {
    repository: `${host}/${clean.release}`,
    checked: 1,
    findings: 0,
    truncated: false,
  });
  assert.equal(byRepo[`${host}/${dirty}`]?.checked, 4);

  assert.deepEqual(
    await h.deps.archive.listDrift({ repository: `${host}/${clean.release}`, limit: 100 }),
    [],
  );
  const drift = await h.deps.archive.listDrift({ repository: `${host}/${dirty}`, limit: 100 });
  const found = drift.map((d) => `${d.tag} ${d.kind} ${d.digest}`).sort();
  assert.deepEqual(found, [
    `v1.0.0 tag-moved ${second.digest}`,
    `v1.2.0 revoked ${third.digest}`,
    `v9.9.9 unpublished-digest ${planted.digest}`,
  ]);
  const moved = drift.find((d) => d.kind === 'tag-moved');
  assert.equal(moved?.expectedDigest, first.digest);
  assert.ok(drift.every((d) => d.workflowId === workflowId));

  // The same events through `slsa-gate audit drift`.
  const cli = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)),
      'audit',
      'drift',
      '--repository',
      `${host}/${dirty}`,
      '--json',
      '--mongodb-uri',
      h.config.mongoUri,
      '--db',
      h.config.database,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const listed = (JSON.parse(cli.stdout) as Array<{ tag: string; kind: string }>).map(
    (d) => `${d.tag} ${d.kind}`,
  );
  assert.deepEqual(listed.sort(), ['v1.0.0 tag-moved', 'v1.2.0 revoked', 'v9.9.9 unpublished-digest']);

  // Installing again updates the schedule in place.
  const again = await installMonitorSchedule(h.client, {
    taskQueue: h.config.taskQueue,
    every: '2h',
    input: { repositories: [`${host}/${dirty}`] },
    scheduleId,
  });
  assert.equal(again.created, false);
});

test('an image under an attachment-shaped tag is reported unless it is the attachment the gate wrote there', async () => {
  const staging = `staging/${uniqueName('hidden')}`;
  const published = await publish(staging, 'v1.0.0');
  const other = await publish(staging, 'v1.1.0');
  const release = published.release;
  const hex = (digest: string) => digest.slice('sha256:'.length);
  const gateWrote = await listTags(h.registryHost, release);
  assert.ok(gateWrote.includes(`sha256-${hex(published.digest)}.att`), 'the gate wrote the .att tag');

  // Failing before: the monitor skipped every attachment-shaped tag whose `sha256-<hex>`
  // named a manifest in the repository, so (1), (2) and (4) went unreported.
  // Attacker material, with push access to the release repository; each image built locally
  // (buildImage, a seed of its own) and pushed with a real PUT:
  // (1) under `sha256-<hex of a published digest>.sig`, a tag cosign would use for signatures;
  const sig = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-sig` }), {
    tag: `sha256-${hex(published.digest)}.sig`,
  });
  // (2) an image pushed by digest only (no tag names it), and another under `.att` of that
  //     digest, so the attachment tag "attaches to" something in the repository;
  const untagged = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-carrier` }));
  const att = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-att` }), {
    tag: `sha256-${hex(untagged.digest)}.att`,
  });
  // (3) under `.att` of a random digest that names nothing;
  const randomTag = `sha256-${randomBytes(32).toString('hex')}.att`;
  const random = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-random` }), {
    tag: randomTag,
  });
  // (4) over the gate's own `.att` tag of another published digest.
  const replaced = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-replaced` }), {
    tag: `sha256-${hex(other.digest)}.att`,
  });

  const workflowId = uniqueName('monitor-hidden');
  const result: MonitorReleasesResult = await h.client.workflow.execute('monitorReleases', {
    taskQueue: h.config.taskQueue,
    workflowId,
    args: [{ repositories: [`${h.registryHost}/${release}`] }],
  });
  const drift = (await h.deps.archive.listDrift({ repository: `${h.registryHost}/${release}`, limit: 100 }))
    .filter((d) => d.workflowId === workflowId)
    .map((d) => `${d.tag} ${d.kind} ${d.digest}`)
    .sort();
  assert.deepEqual(
    drift,
    [
      `sha256-${hex(published.digest)}.sig unpublished-digest ${sig.digest}`,
      `sha256-${hex(untagged.digest)}.att unpublished-digest ${att.digest}`,
      `sha256-${hex(other.digest)}.att unpublished-digest ${replaced.digest}`,
      `${randomTag} unpublished-digest ${random.digest}`,
    ].sort(),
  );
  // The two release tags and the four planted tags were checked; the gate's own attachment
  // tags (the .att and .sig of the second digest, the .att of the first, the referrers
  // fallback tags) were not.
  assert.equal(result.repositories[0]?.checked, 6);
});

test('with one unreadable repository among three, a run reports the other two, finds images pushed by digest, and announces each new finding once, signed', async () => {
  const host = h.registryHost;
  const one = await publish(`staging/${uniqueName('one')}`, 'v1.0.0');
  const three = await publish(`staging/${uniqueName('three')}`, 'v1.0.0');
  // Attacker material, with push access to the release repositories; every image built
  // locally (buildImage, a seed of its own) and pushed with real PUTs:
  // (1) into repository one, under a tag, an image the gate never saw;
  const planted = await pushBuiltImage(
    h.registry,
    one.release,
    buildImage({ seed: `${one.release}-planted` }),
    {
      tag: 'v6.6.6',
    },
  );
  // (2) into repository three, by digest only (no tag names it), a candidate the gate refused:
  //     pushed to staging without provenance and denied there first;
  const refusedImage = buildImage({ seed: `${three.release}-refused` });
  const refusedStaging = `staging/${uniqueName('refused')}`;
  await pushBuiltImage(h.registry, refusedStaging, refusedImage, { tag: 'v1.0.0' });
  const refused = await h.publish(requestFor(h, refusedStaging, refusedImage.digest, { tag: 'v1.0.0' }));
  assert.equal(refused.status, 'DENIED');
  await pushBuiltImage(h.registry, three.release, refusedImage);
  // (3) into repository three, by digest only, a release of another repository that an
  //     administrator revoked afterwards (copied by digest, as `crane cp repo@digest` does).
  const revoked = await publish(`staging/${uniqueName('revoked')}`, 'v1.0.0');
  await h.deps.archive.recordRevocation({
    subjectDigest: revoked.digest,
    reason: 'signed by a leaked key',
    by: 'admin@example.com',
    verified: false,
    at: new Date().toISOString(),
    workflowId: `revoke:${revoked.digest}`,
    runId: 'test',
  });
  await copyImage(h.registry, revoked.release, three.release, revoked.digest);
  // Repository two is named to the monitor but cannot be read: the registry has no such repository.
  const missing = `${host}/release/${uniqueName('missing')}`;
  const repositories = [`${host}/${one.release}`, missing, `${host}/${three.release}`];

  // Failing before: the first unreadable repository failed the whole run (repository three
  // was never checked), untagged digests were never asked for, every run archived every
  // finding again, and nothing was counted on the run or sent to anyone.
  const runMonitor = async (name: string) => {
    const handle = await h.client.workflow.start('monitorReleases', {
      taskQueue: h.config.taskQueue,
      workflowId: uniqueName(name),
      args: [{ repositories }],
    });
    return { handle, result: (await handle.result()) as MonitorReleasesResult };
  };
  const first = await runMonitor('monitor-three');
  assert.deepEqual(
    first.result.repositories.map((r) => [r.repository, r.findings, r.unreadable ?? null]),
    [
      [`${host}/${one.release}`, 1, null],
      [missing, 1, 'REGISTRY_ERROR'],
      [`${host}/${three.release}`, 2, null],
    ],
  );
  assert.deepEqual(first.result.findingsByKind, { 'unpublished-digest': 2, unreadable: 1, revoked: 1 });
  assert.equal(first.result.newFindings, 4);

  const stored = async () =>
    (
      await Promise.all(
        repositories.map((repository) => h.deps.archive.listDrift({ repository, limit: 100 })),
      )
    ).flat();
  const findings = await stored();
  assert.deepEqual(
    findings.map((d) => `${d.repository} ${d.tag ?? '-'} ${d.kind} ${d.digest ?? d.code}`).sort(),
    [
      `${host}/${one.release} v6.6.6 unpublished-digest ${planted.digest}`,
      `${missing} - unreadable REGISTRY_ERROR`,
      `${host}/${three.release} - unpublished-digest ${refusedImage.digest}`,
      `${host}/${three.release} - revoked ${revoked.digest}`,
    ].sort(),
  );

  // The run shows its drift in the Temporal UI: search attributes and memo.
  const described = await first.handle.describe();
  assert.equal(described.typedSearchAttributes.get(DriftFindings), 4);
  assert.deepEqual(described.typedSearchAttributes.get(DriftKinds), [
    'revoked',
    'unpublished-digest',
    'unreadable',
  ]);
  assert.deepEqual(described.memo?.drift, {
    findingsByKind: { 'unpublished-digest': 2, unreadable: 1, revoked: 1 },
    newFindings: 4,
  });

  // Each new finding reaches the receiver as a CloudEvent signed over its exact body.
  const mine = () =>
    received
      .map((r) => ({ ...r, event: JSON.parse(r.body.toString('utf8')) as Record<string, unknown> }))
      .filter((r) => repositories.includes((r.event.data as { repository: string }).repository));
  for (let i = 0; i < 600 && mine().length < 4; i++) await sleep(200);
  const notices = mine();
  assert.equal(notices.length, 4);
  for (const n of notices) {
    assert.ok(
      driftNoticeSignatureValid(n.body, n.signature, noticeSecret),
      'signed with the operator secret',
    );
    assert.equal(driftNoticeSignatureValid(n.body, n.signature, randomBytes(32)), false);
    assert.match(n.contentType ?? '', /^application\/cloudevents\+json/);
    assert.equal(n.event.specversion, '1.0');
    assert.equal(n.event.type, DRIFT_EVENT_TYPE);
  }
  assert.deepEqual(
    notices.map((n) => n.event.id).sort(),
    findings.map((f) => driftNoticeId({ driftId: f._id, firstSeen: f.firstSeen! })).sort(),
  );

  // A second run sees the same drift: every finding stays one record, counted twice, and no
  // notice is sent again.
  const second = await runMonitor('monitor-three-again');
  assert.deepEqual(second.result.findingsByKind, first.result.findingsByKind);
  assert.equal(second.result.newFindings, 0);
  const again = await stored();
  assert.equal(again.length, 4);
  const firstRunId = first.handle.firstExecutionRunId;
  const secondRunId = second.handle.firstExecutionRunId;
  for (const f of again) {
    assert.equal(f.count, 2, f._id);
    assert.equal(f.firstRunId, firstRunId);
    assert.equal(f.runId, secondRunId);
  }
  // Each finding was delivered by one workflow named by its delivery id, which completed.
  for (const f of again) {
    const delivery = h.client.workflow.getHandle(
      `drift-notice:${driftNoticeId({ driftId: f._id, firstSeen: f.firstSeen! })}`,
    );
    assert.equal((await delivery.describe()).status.name, 'COMPLETED');
  }
  assert.equal(mine().length, 4);
});

test('drift that was gone and comes back is announced again: a run that reads the whole repository closes what it no longer sees', async () => {
  const one = await publish(`staging/${uniqueName('returns')}`, 'v1.0.0');
  const repository = `${h.registryHost}/${one.release}`;
  // Attacker material, with push access to the release repository: an image built locally
  // (buildImage, a seed of its own) that the gate never saw, pushed with real PUTs under v6.6.6.
  const planted = await pushBuiltImage(
    h.registry,
    one.release,
    buildImage({ seed: `${one.release}-returns` }),
    { tag: 'v6.6.6' },
  );
  const runMonitor = async (name: string) =>
    (await h.client.workflow.execute('monitorReleases', {
      taskQueue: h.config.taskQueue,
      workflowId: uniqueName(name),
      args: [{ repositories: [repository] }],
    })) as MonitorReleasesResult;
  const noticesOf = () =>
    received
      .map((r) => JSON.parse(r.body.toString('utf8')) as { id: string; data: { repository: string } })
      .filter((e) => e.data.repository === repository);

  assert.equal((await runMonitor('monitor-returns-1')).newFindings, 1);
  for (let i = 0; i < 600 && noticesOf().length < 1; i++) await sleep(200);
  assert.equal(noticesOf().length, 1);

  // The operator points v6.6.6 back at the release the gate published: the next run sees no drift.
  await h.registry.tag(one.release, 'v6.6.6', one.digest);
  const clean = await runMonitor('monitor-returns-2');
  assert.deepEqual(clean.findingsByKind, {});
  const [closed] = await h.deps.archive.listDrift({ repository, limit: 10 });

  // Failing before: the attacker tags the same image again, and the finding (same place, digest
  // and kind) was counted as the standing one: no run announced it, the operator heard nothing.
  await h.registry.tag(one.release, 'v6.6.6', planted.digest);
  const back = await runMonitor('monitor-returns-3');
  assert.equal(back.newFindings, 1);
  for (let i = 0; i < 600 && noticesOf().length < 2; i++) await sleep(200);
  const notices = noticesOf();
  assert.equal(notices.length, 2);
  assert.notEqual(notices[0]!.id, notices[1]!.id, 'each return is its own delivery');
  assert.ok(closed?.clearedAt, 'the finding the clean run no longer saw was closed by it');
  const [reopened] = await h.deps.archive.listDrift({ repository, limit: 10 });
  assert.equal(reopened?.clearedAt, undefined);
  assert.equal(reopened?.digest, planted.digest);
});

test('a mirror repository is judged against what the gate published to the release repository it copies', async () => {
  const host = h.registryHost;
  const published = await publish(`staging/${uniqueName('mirrored')}`, 'v1.0.0');
  const elsewhere = await publish(`staging/${uniqueName('elsewhere')}`, 'v1.0.0');
  const name = published.release.slice('release/'.length);
  // Under the worker's mirror prefix (`mirror/` copies `release/`), and under no prefix.
  const mirror = `${host}/mirror/${name}`;
  const unmapped = `${host}/copies/${name}`;
  const att = `sha256-${published.digest.slice('sha256:'.length)}.att`;
  const tools = interopTools();
  const crane = (from: string, to: string) => {
    const r = tools.run(tools.crane, ['copy', '--insecure', from, to]);
    assert.equal(r.status, 0, r.stderr);
  };
  // A tag-copying mirror: the image and its `.att` (the VSA), copied by crane, digests kept.
  for (const copy of [mirror, unmapped]) {
    crane(`${host}/${published.release}:v1.0.0`, `${copy}:v1.0.0`);
    crane(`${host}/${published.release}:${att}`, `${copy}:${att}`);
  }
  // Attacker material, with push access to the mirror: (1) an image built locally (buildImage,
  // a seed of its own) pushed under v6.6.6; (2) a release the gate published to another
  // release repository, copied in by digest under v2.0.0 (it was never published for this one).
  const planted = await pushBuiltImage(h.registry, `mirror/${name}`, buildImage({ seed: `${name}-mirror` }), {
    tag: 'v6.6.6',
  });
  crane(`${host}/${elsewhere.release}@${elsewhere.digest}`, `${mirror}:v2.0.0`);

  // Failing before: the monitor compared a mirror with the gate's record of the mirror itself,
  // where it published nothing: the faithful copy (v1.0.0 and its `.att`) was reported as
  // `unpublished-digest` like the planted images.
  const workflowId = uniqueName('monitor-mirror');
  const result: MonitorReleasesResult = await h.client.workflow.execute('monitorReleases', {
    taskQueue: h.config.taskQueue,
    workflowId,
    args: [{ repositories: [mirror, unmapped] }],
  });
  const findingsOf = async (repository: string) =>
    (await h.deps.archive.listDrift({ repository, limit: 100 }))
      .filter((d) => d.workflowId === workflowId)
      .map((d) => `${d.tag} ${d.kind} ${d.digest}`)
      .sort();
  // The copy is clean (its `.att` is the attachment the gate wrote, not a release); the two
  // planted tags are reported under the mirror's repository.
  assert.deepEqual(
    await findingsOf(mirror),
    [`v2.0.0 unpublished-digest ${elsewhere.digest}`, `v6.6.6 unpublished-digest ${planted.digest}`].sort(),
  );
  assert.equal(result.repositories[0]?.checked, 3);
  // Without the map (a copy under no mirror prefix), the monitor judges the copy against the
  // gate's record of that repository: the image and its `.att` are `unpublished-digest`.
  const attDigest = (await h.registry.resolve(published.release, att)).digest;
  assert.deepEqual(
    await findingsOf(unmapped),
    [`v1.0.0 unpublished-digest ${published.digest}`, `${att} unpublished-digest ${attDigest}`].sort(),
  );
});

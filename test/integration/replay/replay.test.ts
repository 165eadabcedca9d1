/**
 * `audit replay` against decisions made by real publish workflows (a real Worker, Temporal,
 * registry and store through the publish harness), plus two generated ones the pipeline
 * cannot reach by itself: a pipeline denial without evidence, and evidence altered in the store.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Binary } from 'mongodb';
import { replayDecisions, type ReplayReport } from '../../../src/audit/replay.ts';
import { buildAndAttest, demoPolicy, demoTrustMap } from '../../../src/demo/demo-builder.ts';
import type { PublishResult } from '../../../src/workflows/contract.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../../helpers/publish-harness.ts';
import { services, uniqueName } from '../../helpers/services.ts';
import { fakeDigest, makeAttestation, makeDecision, attestationDigest } from '../archive/make-records.ts';
import { collectionsOf } from '../../../src/archive/archive.ts';
import { readConfiguredTrustSources } from '../../../src/config/trust.ts';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../../bin/slsa-gate.js');

let h: PublishHarness;
let published: PublishResult;
let denied: PublishResult;
let repos: { good: string; evil: string; deps: string };
let withDeps: PublishResult;
const asIfL3 = 'replay-deps-l3/run-1';
const dependency = { uri: 'pkg:npm/left-pad@1.3.0', digest: { sha256: 'c'.repeat(64) } };
const tampered = 'replay-tampered';
const pipelineDenied = 'replay-pipeline';

/** The demo policy over both test repositories, with `edit` applied to its one rule. */
function policyWith(edit: (rule: Record<string, unknown>) => void = () => {}): string {
  const doc = JSON.parse(demoPolicy([repos.good, repos.evil, repos.deps])) as {
    rules: Array<Record<string, unknown>>;
  };
  edit(doc.rules[0]!);
  return JSON.stringify(doc);
}

async function replay(
  text: string,
  filters = {},
  more: { jobs?: number; now?: Date } = {},
): Promise<ReplayReport> {
  return replayDecisions({
    archive: h.deps.archive,
    policy: { text, origin: 'new-policy.json' },
    trust: readConfiguredTrustSources(h.config),
    trustMap: h.deps.trustMap,
    filters,
    ...more,
  });
}

function entry(report: ReplayReport, decisionId: string) {
  const found = report.decisions.find((d) => d.decisionId === decisionId);
  assert.ok(found, `decision ${decisionId} is in the report`);
  return found;
}

before(async () => {
  h = await startPublishHarness();
  const good = `staging/${uniqueName('replay-good')}`;
  const evil = `staging/${uniqueName('replay-evil')}`;
  const deps = `staging/${uniqueName('replay-deps')}`;
  repos = {
    good: `${h.registryHost}/${good}`,
    evil: `${h.registryHost}/${evil}`,
    deps: `${h.registryHost}/${deps}`,
  };
  const a = await buildAndAttest(h.registry, good, { tag: 'v1.0.0', seed: good, key: h.builderKey });
  const b = await buildAndAttest(h.registry, evil, {
    tag: 'v1.0.0',
    seed: evil,
    key: h.builderKey,
    provenance: { builderId: 'https://evil.example/builder@v1' },
  });
  published = await h.publish(requestFor(h, good, a.digest, { tag: 'v1.0.0' }));
  denied = await h.publish(requestFor(h, evil, b.digest, { tag: 'v1.0.0' }));
  assert.equal(published.status, 'PUBLISHED', `${published.code}: ${published.reason}`);
  assert.equal(denied.status, 'DENIED');
  assert.equal(denied.code, 'BUILDER_UNTRUSTED');

  // A real publish whose provenance names a dependency (its rule asked for no dependency level,
  // so none was archived) …
  const c = await buildAndAttest(h.registry, deps, {
    tag: 'v1.0.0',
    seed: deps,
    key: h.builderKey,
    provenance: { dependencies: [dependency] },
  });
  withDeps = await h.publish(requestFor(h, deps, c.digest, { tag: 'v1.0.0' }));
  assert.equal(withDeps.status, 'PUBLISHED', `${withDeps.code}: ${withDeps.reason}`);
  // … and a generated copy of that decision, on the same real evidence, as if its rule had
  // asked for dependencies at L3 and the attestors had answered L3.
  const original = await h.deps.archive.getDecision(withDeps.decisionId);
  assert.ok(original);
  await h.deps.archive.recordDecision({
    decisionId: asIfL3,
    workflowId: 'replay-deps-l3',
    runId: 'run-1',
    artifact: original.artifact,
    requester: original.requester,
    checks: original.checks.map((check) =>
      check.id === 'dependencies'
        ? {
            id: 'dependencies',
            result: 'PASS',
            reason: '1 dependencies at L3 or above',
            level: 3,
            evidence: original.attestationDigests,
          }
        : check,
    ),
    outcome: 'PASSED',
    policy: original.policy,
    ...(original.builder ? { builder: original.builder } : {}),
    ...(original.source ? { source: original.source } : {}),
    attestationDigests: original.attestationDigests,
    decidedAt: original.decidedAt,
  });

  // Generated: a decision whose archived evidence was changed in the store afterwards…
  const archive = h.deps.archive;
  await archive.storeAttestations([makeAttestation(tampered)]);
  await archive.recordDecision(
    makeDecision(tampered, {
      artifact: { repository: repos.good, digest: fakeDigest(`artifact-${tampered}`) },
      decidedAt: '2026-03-01T10:00:00Z',
    }),
  );
  await collectionsOf(archive).attestations.updateOne(
    { _id: attestationDigest(tampered) },
    { $set: { raw: new Binary(Buffer.from('{"_type":"https://in-toto.io/Statement/v1","label":"x"}')) } },
  );
  // … and a pipeline denial that never reached the policy (no evidence).
  await archive.recordDecision(
    makeDecision(pipelineDenied, {
      artifact: { repository: repos.good, digest: fakeDigest(`artifact-${pipelineDenied}`) },
      outcome: 'FAILED',
      checks: [{ id: 'pipeline', result: 'FAIL', code: 'MUTABLE_REF', reason: 'tag moved', evidence: [] }],
      attestationDigests: [],
      decidedAt: '2026-03-01T11:00:00Z',
    }),
  );
});

after(async () => {
  await h?.close();
});

describe('replay under a new policy', () => {
  test('the original policy reproduces every real decision check for check', async () => {
    const report = await replay(demoPolicy([repos.good, repos.evil]), { repository: repos.good });
    const again = await replay(demoPolicy([repos.good, repos.evil]), { repository: repos.evil });
    for (const [r, id] of [
      [report, published.decisionId],
      [again, denied.decisionId],
    ] as const) {
      const d = entry(r, id);
      assert.equal(d.changed, false);
      assert.deepEqual(d.checkChanges, [], `no check differs for ${id}`);
      assert.equal(d.notReplayable, undefined);
    }
    assert.equal(entry(report, published.decisionId).after?.outcome, 'PASSED');
    assert.equal(entry(again, denied.decisionId).after?.outcome, 'FAILED');
  });

  test('minBuildLevel 3 flips the published decision (builder L2) and the denied one stays denied', async () => {
    const report = await replay(policyWith((rule) => (rule.minBuildLevel = 3)));
    const flipped = entry(report, published.decisionId);
    assert.equal(flipped.before.outcome, 'PASSED');
    assert.equal(flipped.after?.outcome, 'FAILED');
    assert.equal(flipped.changed, true);
    const level = flipped.checkChanges.find((c) => c.id === 'build-level');
    assert.equal(level?.before?.result, 'PASS');
    assert.equal(level?.before?.level, 2);
    assert.equal(level?.after?.result, 'FAIL');
    assert.equal(level?.after?.code, 'BUILD_LEVEL_INSUFFICIENT');
    assert.deepEqual(
      flipped.checkChanges.map((c) => c.id),
      ['build-level'],
      'only the build level check changes',
    );

    const stays = entry(report, denied.decisionId);
    assert.equal(stays.before.outcome, 'FAILED');
    assert.equal(stays.after?.outcome, 'FAILED');
    assert.equal(stays.changed, false);
    assert.ok(stays.after?.failingCodes.includes('BUILDER_UNTRUSTED'));

    assert.equal(report.changed, 3, 'the two real publishes and the L3 copy (all built by the L2 builder)');
    assert.equal(report.notReplayable, 2);
    assert.equal(report.total, 6);
  });

  test('a destination or tag the new rule no longer allows replays as DESTINATION_NOT_ALLOWED', async () => {
    // Material: the real published decision (to …/release/<name>:v1.0.0) and two tightenings an
    // operator makes: the rule's images now go to another repository, or only under `stable`.
    const moved = `${h.registryHost}/release/${uniqueName('moved')}`;
    for (const release of [
      { destinations: [moved], tags: ['source-tag'] },
      { destinations: [repos.good.replace('/staging/', '/release/')], tags: ['stable'] },
    ]) {
      const report = await replay(
        policyWith((rule) => (rule.release = release)),
        {
          repository: repos.good,
        },
      );
      const d = entry(report, published.decisionId);
      // Before: the original destination result (PASS) was copied, and the outcome stayed PASSED.
      assert.equal(d.after?.outcome, 'FAILED', JSON.stringify(release));
      assert.equal(d.changed, true);
      assert.deepEqual(d.after?.failingCodes, ['DESTINATION_NOT_ALLOWED']);
      const change = d.checkChanges.find((c) => c.id === 'destination');
      assert.equal(change?.before?.result, 'PASS');
      assert.equal(change?.after?.result, 'FAIL');
      assert.equal(change?.after?.code, 'DESTINATION_NOT_ALLOWED');
    }
  });

  test('altered evidence and a pipeline denial are reported as not replayed, never evaluated', async () => {
    const report = await replay(policyWith());
    const altered = entry(report, `publish-${tampered}/run-1`);
    assert.equal(altered.notReplayable?.code, 'ARCHIVE_ERROR');
    assert.match(altered.notReplayable?.reason ?? '', /no longer match their digest/);
    assert.equal(altered.after, undefined);
    const pipeline = entry(report, `publish-${pipelineDenied}/run-1`);
    assert.equal(pipeline.notReplayable?.code, 'MUTABLE_REF');
    assert.equal(pipeline.changed, false);
  });

  test('a source level the original decision did not archive is named and counts as L0', async () => {
    const report = await replay(
      policyWith((rule) => {
        (rule.source as Record<string, unknown>).minLevel = 1;
      }),
      { repository: repos.good, outcome: 'PASSED' },
    );
    const d = entry(report, published.decisionId);
    assert.equal(d.after?.outcome, 'FAILED');
    const source = d.checkChanges.find((c) => c.id === 'source');
    assert.equal(source?.after?.code, 'SOURCE_LEVEL_INSUFFICIENT');
    const note = d.levels.find((n) => n.kind === 'source');
    assert.equal(note?.status, 'not-archived');
    assert.equal(note?.needed, true);
  });

  test('dependency levels: the archived lowest level is a lower bound for each dependency; none archived is L0', async () => {
    const atLevel = async (minLevel: number) =>
      replay(
        policyWith((rule) => (rule.dependencies = { minLevel })),
        { repository: repos.deps },
      );
    const three = await atLevel(3);
    const copy = entry(three, asIfL3);
    assert.equal(copy.after?.outcome, 'PASSED', 'L3 recorded meets minLevel 3');
    assert.equal(copy.changed, false);
    const bound = copy.levels.find((n) => n.kind === 'dependencies');
    assert.equal(bound?.status, 'lower-bound');
    assert.equal(bound?.level, 3);
    assert.equal(bound?.needed, true);

    const realOne = entry(three, withDeps.decisionId);
    assert.equal(realOne.after?.outcome, 'FAILED', 'no level was archived for the real one: L0');
    assert.equal(
      realOne.checkChanges.find((c) => c.id === 'dependencies')?.after?.code,
      'DEP_LEVEL_INSUFFICIENT',
    );
    assert.equal(realOne.levels.find((n) => n.kind === 'dependencies')?.status, 'not-archived');

    const four = await atLevel(4);
    assert.equal(entry(four, asIfL3).after?.outcome, 'FAILED', 'a lower bound of L3 does not meet L4');
    assert.equal(
      entry(four, asIfL3).checkChanges.find((c) => c.id === 'dependencies')?.after?.code,
      'DEP_LEVEL_INSUFFICIENT',
    );
  });

  test('a policy with no rule for the artifact denies in the pipeline, as the workflow would', async () => {
    const other = JSON.stringify({
      version: 1,
      name: 'other',
      rules: [{ ...JSON.parse(policyWith()).rules[0], artifacts: ['127.0.0.1:5000/someone/else'] }],
    });
    const report = await replay(other, { repository: repos.good, outcome: 'PASSED' });
    const d = entry(report, published.decisionId);
    assert.equal(d.after?.outcome, 'FAILED');
    assert.deepEqual(d.after?.failingCodes, ['POLICY_INCOMPLETE']);
  });

  test('on worker threads the report is the serial one, altered evidence included, in the same order', async () => {
    const stricter = policyWith((rule) => (rule.minBuildLevel = 3));
    const now = new Date();
    const serial = await replay(stricter, {}, { jobs: 1, now });
    const parallel = await replay(stricter, {}, { jobs: 2, now });
    assert.deepEqual(parallel, serial);
    assert.ok(serial.total >= 5, `${serial.total} decisions replayed`);
    assert.equal(entry(serial, published.decisionId).changed, true);
    assert.equal(entry(serial, `publish-${tampered}/run-1`).notReplayable?.code, 'ARCHIVE_ERROR');
  });

  test('slsa-gate audit replay: table and --json, exit 1 when an outcome changes, 0 when none does', async () => {
    const policyFile = join(h.dir, 'stricter.json');
    writeFileSync(
      policyFile,
      policyWith((rule) => (rule.minBuildLevel = 3)),
    );
    const trustMapFile = join(h.dir, 'trust-map.json');
    writeFileSync(trustMapFile, JSON.stringify(demoTrustMap(h.builderKey.keyId)));
    const env = {
      ...process.env,
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_DB: h.config.database,
      SLSA_GATE_PUBLIC_KEYS: `${h.builderKey.keyId}=${join(h.dir, 'builder.pub')}`,
      SLSA_GATE_TRUST_MAP: trustMapFile,
    };
    const args = [cli, 'audit', 'replay', '--policy', policyFile];
    const json = await run(process.execPath, [...args, '--json', '--jobs', '2'], { env }).then(
      () => assert.fail('a changed outcome exits 1'),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as ReplayReport;
    assert.equal(report.changed, 3);
    assert.equal(entry(report, published.decisionId).after?.outcome, 'FAILED');

    const table = await run(process.execPath, args, { env }).then(
      () => assert.fail('a changed outcome exits 1'),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(table.code, 1);
    assert.match(table.stdout, /PASSED → FAILED {2}CHANGES/);
    assert.match(table.stdout, /check build-level: PASS \(L2\) → FAIL BUILD_LEVEL_INSUFFICIENT \(L2\)/);
    assert.match(table.stdout, /^CHANGED: 3 decision\(s\) would change outcome/m);

    // Only the denied decisions: nothing changes.
    const deniedOnly = await run(
      process.execPath,
      [...args, '--outcome', 'FAILED', '--builder', 'https://evil.example/builder'],
      { env },
    );
    assert.match(
      deniedOnly.stdout,
      /^PASSED: no decision would change outcome \(1 unchanged, 0 not replayed\)/m,
    );
  });
});

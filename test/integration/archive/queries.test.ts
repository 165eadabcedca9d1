import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Binary } from 'mongodb';
import { type Archive, collectionsOf, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import type { AuditFilters } from '../../../src/archive/audit-filters.ts';
import { sha256Digest } from '../../../src/archive/digest.ts';
import { verifyIntegrity } from '../../../src/archive/integrity.ts';
import { decisionStats, exportDecisions, listDecisions, showDecision } from '../../../src/archive/queries.ts';
import { GateError } from '../../../src/core/errors.ts';
import {
  auditDecisions,
  builderA,
  builderB,
  policyA,
  policyB,
  storeAuditDecisions,
} from '../../helpers/audit-decisions.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, fakeDigest } from './make-records.ts';

/** A VSA bundle's shape around an in-toto statement naming `digest` as its subject. */
function vsaBundleFor(digest: string) {
  const [alg, hex] = digest.split(':');
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { [alg!]: hex } }],
  };
  return {
    dsseEnvelope: {
      payloadType: 'application/vnd.in-toto+json',
      payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
      signatures: [],
    },
  };
}

/** Five decisions, one per row of the audit questions, with a known answer for every filter. */
const decisions = auditDecisions('q');
const id = (key: string) => decisions[key]!.decisionId;

let archive: Archive;
before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('audit').replaceAll('-', '_'));
  await storeAuditDecisions(archive, decisions, { approvalReason: 'ok' });
  await archive.storeVsa({
    // Shaped as the gate's VSA bundle (unsigned: `audit verify` reads the statement's subject,
    // never the signature), naming d1's artifact as its subject.
    raw: Buffer.from(JSON.stringify(vsaBundleFor(decisions.d1!.artifact.digest))).toString('base64'),
    direction: 'issued',
    decisionId: id('d1'),
    subjectDigest: decisions.d1!.artifact.digest,
    resourceUri: 'oci://reg/release/app',
    verifierId: 'https://slsa-gate.example',
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    at: '2026-03-05T00:00:00Z',
  });
  await archive.transition(id('d5'), 'awaiting-approval', 'rejected', 'bob@acme.example');
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

async function ids(filters: AuditFilters): Promise<string[]> {
  const { items } = await listDecisions(archive, filters, { limit: 1000 });
  return items.map((d) => d._id);
}

describe('listDecisions', () => {
  const cases: Array<[string, AuditFilters, string[]]> = [
    ['no filter: all, newest first', {}, ['d5', 'd4', 'd3', 'd2', 'd1']],
    ['artifact digest', { artifactDigest: fakeDigest('artifact-q3') }, ['d3']],
    ['repository', { repository: 'reg/release/app' }, ['d5', 'd2', 'd1']],
    ['repository and tag', { repository: 'reg/release/app', tag: 'v2' }, ['d2']],
    ['builder id', { builderId: builderA }, ['d5', 'd4', 'd3', 'd1']],
    ['builder id and version', { builderId: builderA, builderVersion: 'v1.2' }, ['d5', 'd4', 'd1']],
    ['source repo', { sourceRepo: 'git+https://github.com/acme/lib' }, ['d3']],
    ['source commit', { sourceCommit: '4'.repeat(40) }, ['d4']],
    ['outcome', { outcome: 'FAILED' }, ['d4', 'd2']],
    ['status', { status: 'published' }, ['d1']],
    ['failing check code', { failingCode: 'DEP_LEVEL_INSUFFICIENT' }, ['d4']],
    ['failing check id', { failingCheck: 'builder' }, ['d2']],
    ['policy digest', { policyDigest: sha256Digest(policyB) }, ['d5', 'd2']],
    ['approver', { approver: 'alice@acme.example' }, ['d3']],
    ['used an exception', { withException: true }, ['d3']],
    ['used no exception', { withException: false }, ['d5', 'd4', 'd2', 'd1']],
    ['approver with no verdicts', { approver: 'nobody@acme.example' }, []],
    [
      'time range [since, until)',
      { since: '2026-03-02T10:00:00Z', until: '2026-03-03T12:00:00Z' },
      ['d3', 'd2'],
    ],
    ['combined', { builderId: builderA, outcome: 'NEEDS_APPROVAL', since: '2026-03-04T00:00:00Z' }, ['d5']],
  ];
  for (const [name, filters, expected] of cases) {
    test(name, async () => {
      assert.deepEqual(await ids(filters), expected.map(id));
    });
  }

  test('pages walk every match exactly once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listDecisions(archive, {}, { limit: 2, cursor });
      seen.push(...page.items.map((d) => d._id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['d5', 'd4', 'd3', 'd2', 'd1'].map(id));
  });

  test('bad filters and cursors are INPUT_INVALID', async () => {
    for (const call of [
      () => listDecisions(archive, { outcome: 'MAYBE' } as never),
      () => listDecisions(archive, { artifactDigest: 'sha256:short' }),
      () => listDecisions(archive, { typo: 1 } as never),
      () => listDecisions(archive, {}, { cursor: 'garbage' }),
      () => listDecisions(archive, {}, { limit: 0 }),
    ]) {
      await assert.rejects(
        call(),
        (err: unknown) => err instanceof GateError && err.code === 'INPUT_INVALID',
      );
    }
  });
});

describe('decisionStats', () => {
  test('counts by outcome, builder, failing check and day', async () => {
    const stats = await decisionStats(archive);
    assert.equal(stats.total, 5);
    assert.deepEqual(stats.byOutcome, [
      { key: 'FAILED', count: 2 },
      { key: 'NEEDS_APPROVAL', count: 2 },
      { key: 'PASSED', count: 1 },
    ]);
    assert.deepEqual(stats.byBuilder, [
      { key: `${builderA}@v1.2`, count: 3 },
      { key: `${builderB}@v2.0`, count: 1 },
      { key: `${builderA}@v1.3`, count: 1 },
    ]);
    assert.deepEqual(stats.byFailingCheck, [
      { key: 'builder', count: 1 },
      { key: 'dependencies', count: 1 },
      { key: 'source', count: 1 },
    ]);
    assert.deepEqual(stats.byFailingCode, [
      { key: 'BUILDER_UNTRUSTED', count: 1 },
      { key: 'DEP_LEVEL_INSUFFICIENT', count: 1 },
      { key: 'SOURCE_MISMATCH', count: 1 },
    ]);
    assert.deepEqual(stats.byDay, [
      { key: '2026-03-01', count: 1 },
      { key: '2026-03-02', count: 1 },
      { key: '2026-03-03', count: 2 },
      { key: '2026-03-04', count: 1 },
    ]);
  });

  test('takes the list filters', async () => {
    const stats = await decisionStats(archive, { outcome: 'FAILED' });
    assert.equal(stats.total, 2);
    assert.deepEqual(stats.byOutcome, [{ key: 'FAILED', count: 2 }]);
  });

  test('counted by the server ($match, $group: the MongoDB path) it gives the same counts as the scan', async () => {
    for (const filters of [{}, { outcome: 'FAILED' as const }, { builderId: builderA }]) {
      assert.deepEqual(
        await decisionStats(archive, filters, { serverSide: true }),
        await decisionStats(archive, filters, { serverSide: false }),
        JSON.stringify(filters),
      );
    }
  });
});

describe('showDecision', () => {
  test('by decision id: the decision, raw attestations, VSA, policy, approvals and events', async () => {
    const detail = await showDecision(archive, id('d1'));
    assert.ok(detail);
    assert.equal(detail.decision._id, id('d1'));
    assert.equal(detail.decision.status, 'published');
    assert.deepEqual(
      detail.attestations.map((a) => a._id),
      [attestationDigest('q1')],
    );
    assert.equal(sha256Digest(Buffer.from(detail.attestations[0]!.raw, 'base64')), attestationDigest('q1'));
    assert.deepEqual(detail.missingAttestations, []);
    assert.deepEqual(
      detail.vsas.map((v) => v.direction),
      ['issued'],
    );
    assert.equal(detail.policy?.text, policyA);
    assert.deepEqual(
      detail.events.map((e) => e.to),
      ['decided', 'published'],
    );
  });

  test('by artifact digest and by workflow id, with the approval trail and exceptions', async () => {
    const byDigest = await showDecision(archive, fakeDigest('artifact-q3'));
    const byWorkflow = await showDecision(archive, decisions.d3!.workflowId);
    assert.equal(byDigest?.decision._id, id('d3'));
    assert.equal(byWorkflow?.decision._id, id('d3'));
    assert.deepEqual(
      byDigest?.approvals.map((a) => [a.approver, a.verdict, a.reason]),
      [['alice@acme.example', 'approve', 'ok']],
    );
    assert.deepEqual(
      byDigest?.exceptions.map((e) => e.subject),
      ['pkg:npm/left-pad@1.3.0'],
    );
    assert.equal(await showDecision(archive, 'no-such-thing'), null);
  });
});

describe('exportDecisions', () => {
  test('one object per decision in [since, until), oldest first; raw bytes only when inlined', async () => {
    const out = [];
    for await (const d of exportDecisions(archive, '2026-03-01T00:00:00Z', '2026-03-03T11:00:00Z', {
      batchSize: 2,
    }))
      out.push(d);
    assert.deepEqual(
      out.map((d) => d._id),
      ['d1', 'd2', 'd3'].map(id),
    );
    assert.equal(out[0]!.attestations[0]!._id, attestationDigest('q1'));
    assert.equal(out[0]!.attestations[0]!.raw, undefined);
    assert.equal(out[0]!.vsas.length, 1);
    assert.equal(out[2]!.approvals[0]!.approver, 'alice@acme.example');
    assert.equal(out[2]!.exceptions.length, 1);
    const inlined = [];
    for await (const d of exportDecisions(archive, '2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z', {
      inline: true,
    }))
      inlined.push(d);
    assert.equal(inlined.length, 1);
    assert.equal(
      sha256Digest(Buffer.from(inlined[0]!.attestations[0]!.raw!, 'base64')),
      attestationDigest('q1'),
    );
    assert.ok(JSON.parse(JSON.stringify(inlined[0])));
  });
});

describe('verifyIntegrity', () => {
  test('the records chained to a decision: a deleted event or approval, a stray event and a missing issued VSA are reported', async () => {
    const events = collectionsOf(archive).events;
    // d3 went decided → awaiting-approval → approved on alice's approval (test/helpers/audit-decisions.ts).
    const d3 = id('d3');
    assert.deepEqual((await verifyIntegrity(archive, { ref: d3 })).problems, []);

    // Attacker edit: the event of the move from awaiting-approval deleted with deleteOne.
    const approvedEvent = await events.findOne({ _id: `${d3}|from:awaiting-approval` });
    assert.ok(approvedEvent);
    await events.deleteOne({ _id: approvedEvent._id });
    assert.deepEqual(
      (await verifyIntegrity(archive, { ref: d3 })).problems.map((p) => [p.collection, p.id, p.reason]),
      [['events', `${d3}|from:awaiting-approval`, 'RECORD_MISSING']],
    );
    await events.insertOne(approvedEvent);

    // Attacker edit: an event inserted for a move the decision never made (out of rejected).
    await events.insertOne({
      ...approvedEvent,
      _id: `${d3}|from:rejected`,
      from: 'rejected',
      to: 'published',
    });
    assert.deepEqual(
      (await verifyIntegrity(archive, { ref: d3 })).problems.map((p) => [p.collection, p.id, p.reason]),
      [['events', `${d3}|from:rejected`, 'CHAIN_BROKEN']],
    );
    await events.deleteOne({ _id: `${d3}|from:rejected` });

    // Attacker edit: the approval the move to approved rested on deleted with deleteOne.
    const approval = await collectionsOf(archive).approvals.findOne({ decisionId: d3 });
    assert.ok(approval);
    await collectionsOf(archive).approvals.deleteOne({ _id: approval._id });
    assert.deepEqual(
      (await verifyIntegrity(archive, { ref: d3 })).problems
        .map((p) => [p.collection, p.id, p.reason])
        .sort(),
      [
        ['approvals', approval._id, 'RECORD_MISSING'],
        ['decisions', d3, 'CHAIN_BROKEN'],
      ],
    );
    await collectionsOf(archive).approvals.insertOne(approval);

    // Attacker edit: the VSA a published decision names deleted from the vsas collection.
    const d1 = id('d1');
    const vsa = await collectionsOf(archive).vsas.findOne({ decisionId: d1, direction: 'issued' });
    assert.ok(vsa);
    await collectionsOf(archive).decisions.updateOne(
      { _id: d1 },
      { $set: { 'published.vsaDigest': vsa.digest } },
    );
    assert.deepEqual((await verifyIntegrity(archive, { ref: d1 })).problems, []);
    await collectionsOf(archive).vsas.deleteOne({ _id: vsa._id });
    assert.deepEqual(
      (await verifyIntegrity(archive, { ref: d1 })).problems.map((p) => [p.collection, p.id, p.reason]),
      [['vsas', vsa._id, 'RECORD_MISSING']],
    );
    await collectionsOf(archive).vsas.insertOne(vsa);
    await collectionsOf(archive).decisions.updateOne({ _id: d1 }, { $unset: { 'published.vsaDigest': '' } });
    assert.deepEqual((await verifyIntegrity(archive)).problems, []);
  }); // Runs last: it tampers with the stored documents.
  test('a clean archive has no problems; a changed byte, an edited decision and a deleted attestation are reported by id', async () => {
    const clean = await verifyIntegrity(archive);
    assert.deepEqual(clean.problems, []);
    assert.deepEqual(clean.checked, {
      decisions: 5,
      attestations: 5,
      vsas: 1,
      policies: 2,
      events: 12,
      approvals: 2,
    });

    const target = attestationDigest('q2');
    const stored = await collectionsOf(archive).attestations.findOne({ _id: target });
    const bytes = Buffer.from(stored!.raw.buffer);
    bytes[5] = bytes[5]! ^ 0x01;
    await collectionsOf(archive).attestations.updateOne(
      { _id: target },
      { $set: { raw: new Binary(bytes) } },
    );
    await collectionsOf(archive).decisions.updateOne({ _id: id('d4') }, { $set: { outcome: 'PASSED' } });
    await collectionsOf(archive).attestations.deleteOne({ _id: attestationDigest('q5') });
    await collectionsOf(archive).policies.updateOne(
      { digest: sha256Digest(policyB) },
      { $set: { text: 'allow: all' } },
    );

    const { problems } = await verifyIntegrity(archive);
    const found = problems.map((p) => `${p.collection}:${p.id}`).sort();
    assert.deepEqual(found, [
      `attestations:${target}`,
      `attestations:${attestationDigest('q5')}`,
      `decisions:${id('d4')}`,
      `decisions:${id('d4')}`,
      `policies:${sha256Digest(policyB)}|${sha256Digest(policyB)}`,
    ]);

    const scoped = await verifyIntegrity(archive, { ref: id('d2') });
    assert.deepEqual(scoped.problems.map((p) => `${p.collection}:${p.id}`).sort(), [
      `attestations:${target}`,
      `policies:${sha256Digest(policyB)}|${sha256Digest(policyB)}`,
    ]);
    assert.equal(scoped.checked.decisions, 1);
  });
});

/**
 * Every read of the archive carries a server-side time limit (maxTimeMS): the store ends a
 * query it cannot answer in time instead of holding the worker, the API or an auditor's CLI
 * for ever. The limit is added in one place, to the collection handles (src/archive/collections.ts),
 * so this test drives every named read the publish path and the audit commands make against
 * the real store and checks each command it sent.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CommandStartedEvent } from 'mongodb';
import { type Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { READ_LIMIT, SCAN_LIMIT } from '../../../src/archive/collections.ts';
import { verifyIntegrity } from '../../../src/archive/integrity.ts';
import {
  decisionStats,
  exportDecisions,
  findArchivedBytes,
  listDecisions,
  reliedOnAttestations,
  showDecision,
} from '../../../src/archive/queries.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, makeAttestation, makeDecision } from './make-records.ts';

const READ_COMMANDS = new Set(['find', 'aggregate', 'count', 'distinct', 'findAndModify']);
const sent: CommandStartedEvent[] = [];
let archive: Archive;

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('maxtime').replaceAll('-', '_'), {
    onCommand: (event) => {
      if (READ_COMMANDS.has(event.commandName)) sent.push(event);
    },
  });
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

test('every read the publish path and the audit commands send carries maxTimeMS', async () => {
  await archive.storeAttestations([makeAttestation('limit-1')]);
  await archive.storePolicy(makeDecision('limit-1').policy.digest, 'version: 1\n');
  const decision = makeDecision('limit-1', { decidedAt: '2026-05-01T10:00:00Z' });
  await archive.recordDecision(decision);
  await archive.markPublished(decision.decisionId, {
    repository: '127.0.0.1:5000/release/limit',
    digest: decision.artifact.digest,
    tag: 'v1',
    at: '2026-05-01T10:00:01Z',
  });
  sent.length = 0;

  // The publish path's reads, by key.
  await archive.getAttestations([attestationDigest('limit-1')]);
  await archive.issuedVsas(decision.artifact.digest, 10);
  await archive.lastRelease('127.0.0.1:5000/release/limit', 'v1');
  await archive.findPublished('127.0.0.1:5000/release/limit', decision.artifact.digest, 'v1');
  await archive.getDecision(decision.decisionId);
  await archive.listApprovals(decision.decisionId);
  await archive.revocationOf(decision.artifact.digest);
  await archive.currentPolicy();
  // The audit side: lists, detail, stats, exports, integrity, drift, policy history.
  await archive.findDecisionsByDigest(decision.artifact.digest);
  await archive.policyHistory();
  await archive.listDrift({ limit: 10 });
  await listDecisions(archive, { outcome: 'PASSED' }, { limit: 10 });
  await decisionStats(archive, {});
  await decisionStats(archive, {}, { serverSide: true });
  await showDecision(archive, decision.workflowId);
  await findArchivedBytes(archive, attestationDigest('limit-1'));
  await reliedOnAttestations(archive);
  for await (const _ of exportDecisions(archive, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'));
  for await (const _ of archive.exportBatches());
  const changed = await archive.changesBetween(new Date(Date.now() - 120_000), new Date());
  for await (const _ of archive.exportRecordsByKey(changed));
  await verifyIntegrity(archive);

  // Before: only the drift list set a limit; every other read could run for ever.
  const commands = new Set(sent.map((e) => e.commandName));
  assert.ok(commands.has('find') && commands.has('aggregate'), `reads were sent: ${[...commands]}`);
  for (const event of sent) {
    const limit = event.command.maxTimeMS as unknown;
    const shown = `${event.commandName} on ${String(event.command[event.commandName])}`;
    assert.equal(typeof limit, 'number', `${shown} carries maxTimeMS`);
    assert.ok(
      (limit as number) > 0 && (limit as number) <= SCAN_LIMIT.maxTimeMS,
      `${shown}: maxTimeMS ${String(limit)}`,
    );
  }
  // Lookups by key carry the read limit; only whole-collection walks are given more.
  const lookups = sent.filter(
    (e) => e.commandName === 'find' && typeof (e.command.filter as { _id?: unknown })?._id === 'string',
  );
  assert.ok(lookups.length > 0, 'lookups by key were sent');
  for (const e of lookups) assert.equal(e.command.maxTimeMS, READ_LIMIT.maxTimeMS);
});

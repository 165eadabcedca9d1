/**
 * The policy in force is found by key: the publish path reads the `policyHead` document and
 * then versions by `_id`, never sorting `policyVersions` (a scan on FerretDB). Failing before:
 * `currentPolicyVersion` sent `find({}).sort({version: -1})`, which `assertReadsByKey` rejects.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Archive, collectionsOf, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { SCHEMA_VERSION } from '../../../src/archive/codecs.ts';
import { toDoc } from '../../../src/archive/collections.ts';
import { assertReadsByKey, readRecorder } from '../../helpers/explain-by-key.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { fakeDigest } from './make-records.ts';

let archive: Archive;
const recorder = readRecorder();

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('policyhead').replaceAll('-', '_'), {
    onCommand: recorder.onCommand,
  });
});
after(async () => {
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

const load = (n: number) =>
  archive.loadPolicy({
    digest: fakeDigest(`policy-${n}`),
    text: `rules: ${n}\n`,
    loadedBy: 'admin',
    origin: 'test',
  });

test('the policy in force is read by key, and each load moves it forward', async () => {
  assert.equal(await archive.currentPolicyVersion(), undefined);
  assert.equal((await load(1)).version.version, 1);
  assert.equal((await load(2)).version.version, 2);
  assert.equal((await load(2)).created, false, 'the same text again adds no version');

  recorder.recording = true;
  const current = await archive.currentPolicy();
  recorder.recording = false;
  assert.equal(current?.version.version, 2);
  assert.equal(current?.text, 'rules: 2\n');
  assert.ok(recorder.reads.length > 0);
  await assertReadsByKey(archive, recorder.reads);
});

test('a load that stored its version but stopped before moving the head is caught up by the reader', async () => {
  // As a load killed between its two writes leaves it: v3 inserted, the head still at 2.
  await collectionsOf(archive).policyVersions.insertOne(
    toDoc('policyVersions', {
      _id: 'v3',
      schemaVersion: SCHEMA_VERSION,
      version: 3,
      digest: fakeDigest('policy-3'),
      textDigest: fakeDigest('text-3'),
      loadedBy: 'admin',
      loadedAt: new Date().toISOString(),
      origin: 'test',
    }) as never,
  );
  assert.equal((await archive.currentPolicyVersion())?.version, 3);
  const head = await collectionsOf(archive).policyHead.findOne({ _id: 'current' });
  assert.equal(head?.version, 3, 'the reader moved the head');
  assert.equal((await load(4)).version.version, 4, 'the next load takes the next number');
});

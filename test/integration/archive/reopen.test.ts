import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { ensureIndexes } from '../../../src/archive/collections.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

let client: MongoClient;
before(async () => {
  ensureServices();
  client = new MongoClient(services.mongoUri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
});
after(() => client.close());

// A second worker (or a restarted one) opens an archive whose indexes exist already.
test('creating the indexes of an existing archive again is a no-op', async () => {
  const db = client.db(uniqueName('reopen').replace(/[^a-zA-Z0-9_-]/g, '_'));
  try {
    await ensureIndexes(db);
    const before = await db.collection('decisions').listIndexes().toArray();
    await ensureIndexes(db);
    const again = await db.collection('decisions').listIndexes().toArray();
    assert.deepEqual(
      again.map((i) => i.name),
      before.map((i) => i.name),
    );
    assert.ok(before.length > 1);
  } finally {
    await db.dropDatabase();
  }
});

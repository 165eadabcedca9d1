import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Binary, MongoClient, MongoServerError } from 'mongodb';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

let client: MongoClient;
before(async () => {
  ensureServices();
  client = new MongoClient(services.mongoUri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
});
after(() => client.close());

test('the store writes and reads a document through the mongodb driver; a unique index rejects a duplicate', async () => {
  const db = client.db(uniqueName('smoke'));
  try {
    const col = db.collection<{ key: string; raw: Binary }>('docs');
    await col.createIndex({ key: 1 }, { unique: true });
    const raw = new Binary(Buffer.from([0, 1, 2, 255]));
    await col.insertOne({ key: 'a', raw });
    const back = await col.findOne({ key: 'a' });
    assert.ok(back);
    assert.deepEqual(Buffer.from(back.raw.buffer), Buffer.from([0, 1, 2, 255]));
    await assert.rejects(col.insertOne({ key: 'a', raw }), (err: unknown) => {
      assert.ok(err instanceof MongoServerError);
      assert.equal(err.code, 11000);
      return true;
    });
  } finally {
    await db.dropDatabase();
  }
});

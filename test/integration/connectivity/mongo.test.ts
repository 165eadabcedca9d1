/**
 * The archive connection as a user configures it, against the real store. FerretDB 1.x
 * (SQLite backend) does no authentication: it refuses SCRAM with AuthenticationFailed (18),
 * which is exactly what a user with wrong credentials sees from MongoDB. TLS is tested
 * through a loopback TLS terminator we start in front of the store, with our own CA.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { inspect } from 'node:util';
import { isGateError } from '../../../src/core/errors.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { connectArchive } from '../../../src/config/mongo-options.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { createTestPki, type TestPki } from '../../helpers/test-pki.ts';
import { databaseOf } from '../../../src/archive/archive.ts';

const PASSWORD = 'Zq8-archive-pw';
const storeHost = new URL(services.mongoUri).host;

before(ensureServices);

function dbName(): string {
  return uniqueName('conn').replace(/[^a-zA-Z0-9_]/g, '_');
}

async function archiveError(
  uri: string,
  reason: string,
  code: 'ARCHIVE_ERROR' | 'ARCHIVE_UNAVAILABLE',
): Promise<void> {
  const config = loadConfig({ MONGODB_URI: uri, SLSA_GATE_DB: dbName() });
  await assert.rejects(connectArchive(config, { serverSelectionTimeoutMS: 1500 }), (err: unknown) => {
    assert.ok(isGateError(err), String(err));
    assert.equal(err.code, code);
    assert.equal(err.detail?.reason, reason);
    const host = new URL(uri.replace(/^mongodb/, 'http')).host;
    assert.ok(err.message.includes(host), `the message names ${host}: ${err.message}`);
    for (const shown of [
      err.message,
      JSON.stringify(err.detail),
      inspect(err, { depth: 20 }),
      String(err.stack),
    ]) {
      assert.ok(!shown.includes(PASSWORD), `no password in ${shown}`);
    }
    return true;
  });
}

test('SLSA_GATE_DB selects the database the archive uses', async () => {
  const name = dbName();
  const archive = await connectArchive(loadConfig({ MONGODB_URI: services.mongoUri, SLSA_GATE_DB: name }));
  try {
    assert.equal(databaseOf(archive).databaseName, name);
    assert.ok(
      (await databaseOf(archive).listCollections().toArray()).length > 0,
      'indexes created the collections',
    );
  } finally {
    await databaseOf(archive).dropDatabase();
    await archive.close();
  }
});

test('credentials the store refuses: ARCHIVE_ERROR authentication, naming host and user, not the password', async () => {
  const uri = `mongodb://gate:${PASSWORD}@${storeHost}/?authSource=admin`;
  await archiveError(uri, 'authentication', 'ARCHIVE_ERROR');
  const config = loadConfig({ MONGODB_URI: uri, SLSA_GATE_DB: dbName() });
  await assert.rejects(connectArchive(config), (err: unknown) => {
    assert.ok(isGateError(err));
    assert.match(err.message, /as gate \(authSource admin\)/);
    assert.equal(err.retryable, false);
    return true;
  });
});

test('an unreachable store: ARCHIVE_UNAVAILABLE unreachable, naming the host, not the password', async () => {
  await archiveError(
    `mongodb://gate:${PASSWORD}@127.0.0.1:1/?authSource=admin`,
    'unreachable',
    'ARCHIVE_UNAVAILABLE',
  );
});

describe('TLS with MONGODB_TLS_CA_FILE', () => {
  let pki: TestPki;
  let terminator: Server;
  let port: number;

  before(async () => {
    pki = createTestPki('localhost');
    const [storeName, storePort] = [
      new URL(services.mongoUri).hostname,
      Number(new URL(services.mongoUri).port),
    ];
    terminator = createServer({ cert: pki.serverCert, key: pki.serverKey }, (tlsSocket) => {
      const upstream = netConnect(storePort, storeName);
      tlsSocket.pipe(upstream).pipe(tlsSocket);
      const close = () => {
        tlsSocket.destroy();
        upstream.destroy();
      };
      tlsSocket.on('error', close);
      upstream.on('error', close);
    });
    terminator.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
    port = (terminator.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => terminator.close(() => resolve())));

  test('with the right CA the archive opens over TLS', async () => {
    const name = dbName();
    const archive = await connectArchive(
      loadConfig({
        MONGODB_URI: `mongodb://localhost:${port}/?directConnection=true`,
        MONGODB_TLS_CA_FILE: pki.files.caCert,
        SLSA_GATE_DB: name,
      }),
      { serverSelectionTimeoutMS: 5000 },
    );
    try {
      assert.deepEqual(await databaseOf(archive).command({ ping: 1 }), { ok: 1 });
    } finally {
      await databaseOf(archive).dropDatabase();
      await archive.close();
    }
  });

  test('with another CA the server is not trusted: ARCHIVE_UNAVAILABLE unreachable', async () => {
    const config = loadConfig({
      MONGODB_URI: `mongodb://localhost:${port}/?directConnection=true`,
      MONGODB_TLS_CA_FILE: pki.files.otherCaCert,
      SLSA_GATE_DB: dbName(),
    });
    await assert.rejects(connectArchive(config, { serverSelectionTimeoutMS: 1500 }), (err: unknown) => {
      assert.ok(isGateError(err));
      assert.equal(err.code, 'ARCHIVE_UNAVAILABLE');
      assert.equal(err.detail?.reason, 'unreachable');
      return true;
    });
  });

  test('without the CA file the connection is plain and the TLS endpoint does not answer it', async () => {
    const config = loadConfig({
      MONGODB_URI: `mongodb://localhost:${port}/?directConnection=true`,
      SLSA_GATE_DB: dbName(),
    });
    await assert.rejects(connectArchive(config, { serverSelectionTimeoutMS: 1500 }), (err: unknown) => {
      assert.ok(isGateError(err));
      assert.equal(err.detail?.reason, 'unreachable');
      return true;
    });
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import { loadConfig } from '../../../src/config/config.ts';
import {
  describeMongoTarget,
  mongoTlsOptions,
  redactMongoUri,
  scrubMongoPassword,
} from '../../../src/config/mongo-options.ts';

const PASSWORD = 'Sup3r-s3cret';

function configInvalid(fn: () => unknown, detail: Record<string, unknown> = {}): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isGateError(err), String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    for (const [k, v] of Object.entries(detail)) assert.deepEqual(err.detail?.[k], v, `detail.${k}`);
    assert.ok(!inspect(err, { depth: 10 }).includes(PASSWORD), 'the password is not in the error');
    return true;
  });
}

test('redaction hides the password and secret options, keeps hosts, user and options', () => {
  assert.equal(
    redactMongoUri(`mongodb://gate:${PASSWORD}@db1:27017,db2:27017/slsa?authSource=admin&replicaSet=rs0`),
    'mongodb://gate:****@db1:27017,db2:27017/slsa?authSource=admin&replicaSet=rs0',
  );
  assert.equal(
    redactMongoUri(`mongodb+srv://gate:${PASSWORD}@cluster0.abcde.mongodb.net/?retryWrites=true&w=majority`),
    'mongodb+srv://gate:****@cluster0.abcde.mongodb.net/?retryWrites=true&w=majority',
  );
  assert.equal(redactMongoUri('mongodb://127.0.0.1:27017/'), 'mongodb://127.0.0.1:27017/');
  assert.equal(
    redactMongoUri(
      `mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:${PASSWORD}`,
    ),
    'mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=****',
  );
  // An unencoded '@' in the password still ends up hidden.
  assert.equal(redactMongoUri('mongodb://u:p@ss@h:1/'), 'mongodb://u:****@h:1/');
  assert.equal(redactMongoUri('postgres://u:p@h/'), '<not a mongodb:// connection string>');
});

test('scrubbing removes the password as written and percent-decoded', () => {
  const uri = 'mongodb://u:p%40ss-w0rd@h/';
  assert.equal(scrubMongoPassword('bad p@ss-w0rd and p%40ss-w0rd', uri), 'bad **** and ****');
});

test('the target names hosts, user and authSource, for a replica set and for SRV', () => {
  const rs = describeMongoTarget(
    `mongodb://gate:${PASSWORD}@db1:27017,db2:27018/?authSource=admin&replicaSet=rs0`,
  );
  assert.deepEqual(rs.hosts, ['db1:27017', 'db2:27018']);
  assert.equal(rs.username, 'gate');
  assert.equal(rs.authSource, 'admin');
  assert.ok(!rs.uri.includes(PASSWORD));
  const srv = describeMongoTarget(`mongodb+srv://gate:${PASSWORD}@cluster0.abcde.mongodb.net/`);
  assert.deepEqual(srv.hosts, ['cluster0.abcde.mongodb.net']);
  assert.equal(srv.srv, true);
});

test('a connection string the driver refuses is CONFIG_INVALID, without the password', () => {
  configInvalid(() => describeMongoTarget(`mongodb://gate:${PASSWORD}@db1/?tls=maybe`), {
    variable: 'MONGODB_URI',
  });
  configInvalid(() => describeMongoTarget(`mongodb://gate:${PASSWORD}@db1:99999/`), {
    variable: 'MONGODB_URI',
  });
  configInvalid(() => loadConfig({ MONGODB_URI: `postgres://gate:${PASSWORD}@db1/` }));
});

test('MONGODB_TLS_CA_FILE turns TLS on with the CA; an unreadable file is CONFIG_INVALID naming the variable', () => {
  assert.deepEqual(mongoTlsOptions({}), {});
  const here = new URL(import.meta.url).pathname;
  assert.deepEqual(mongoTlsOptions({ mongoTlsCAFile: here }), { tls: true, ca: readFileSync(here) });
  configInvalid(() => mongoTlsOptions({ mongoTlsCAFile: '/nonexistent/ca.pem' }), {
    variable: 'MONGODB_TLS_CA_FILE',
    path: '/nonexistent/ca.pem',
  });
  assert.equal(loadConfig({ MONGODB_TLS_CA_FILE: '/etc/ssl/ca.pem' }).mongoTlsCAFile, '/etc/ssl/ca.pem');
});

test('SLSA_GATE_DB names the database; a name MongoDB refuses is CONFIG_INVALID', () => {
  assert.equal(loadConfig({ SLSA_GATE_DB: 'gate_prod' }).database, 'gate_prod');
  for (const bad of ['a/b', 'a.b', 'has space', 'x'.repeat(64)]) {
    assert.throws(
      () => loadConfig({ SLSA_GATE_DB: bad }),
      (err: unknown) => isGateError(err) && err.code === 'CONFIG_INVALID',
      bad,
    );
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { RegistryClient } from '../../../src/registry/client.ts';

const configInvalid = (err: GateError) => err.code === 'CONFIG_INVALID';

test('plain http is only allowed for loopback hosts named in insecureHosts', () => {
  assert.equal(new RegistryClient('https://ghcr.io').host, 'ghcr.io');
  assert.equal(
    new RegistryClient('http://127.0.0.1:5000', { insecureHosts: ['127.0.0.1:5000'] }).host,
    '127.0.0.1:5000',
  );
  assert.throws(() => new RegistryClient('http://127.0.0.1:5000'), configInvalid);
  assert.throws(
    () => new RegistryClient('http://registry.internal:5000', { insecureHosts: ['registry.internal:5000'] }),
    configInvalid,
  );
  assert.throws(
    () => new RegistryClient('https://ghcr.io', { insecureHosts: ['10.0.0.1:5000'] }),
    configInvalid,
  );
});

test('the registry URL is scheme://host[:port] and nothing else', () => {
  assert.throws(() => new RegistryClient('ghcr.io'), configInvalid);
  assert.throws(() => new RegistryClient('https://ghcr.io/v2/'), configInvalid);
  assert.throws(() => new RegistryClient('https://user:pw@ghcr.io'), configInvalid);
  assert.throws(() => new RegistryClient('ftp://ghcr.io'), configInvalid);
});

test('forHost picks http only for insecure hosts', () => {
  assert.equal(
    RegistryClient.forHost('localhost:5000', { insecureHosts: ['localhost:5000'] }).host,
    'localhost:5000',
  );
  assert.equal(RegistryClient.forHost('ghcr.io').host, 'ghcr.io');
});

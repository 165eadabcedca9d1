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

// docs/operations.md#docker-compose: the compose stack's registry is `registry:5000` on the
// compose network. A single-label name is answered only by a container network or the hosts
// file; every other non-loopback host stays refused. Failing before: only loopback was accepted.
test('plain http may also reach a single-label container-network name listed in insecureHosts', () => {
  assert.equal(
    new RegistryClient('http://registry:5000', { insecureHosts: ['registry:5000'] }).host,
    'registry:5000',
  );
  assert.equal(
    RegistryClient.forHost('registry:5000', { insecureHosts: ['registry:5000'] }).host,
    'registry:5000',
  );
  // Hosts an operator might list by mistake, each reaching beyond the container network:
  // a dotted name (public DNS), a private address, and names a URL parser reads as 127.0.0.1.
  for (const host of ['registry.example.com:5000', '192.168.1.10:5000', '0x7f000001:5000', '2130706433:5000'])
    assert.throws(() => RegistryClient.forHost(host, { insecureHosts: [host] }), configInvalid, host);
  // Not listed: https, as for any host.
  assert.throws(() => new RegistryClient('http://registry:5000'), configInvalid);
});

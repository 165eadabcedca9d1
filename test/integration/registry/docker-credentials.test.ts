import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { envCredentials, firstCredentials, staticCredentials } from '../../../src/registry/credentials.ts';
import { dockerConfigCredentials } from '../../../src/registry/docker-credentials.ts';
import { localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { startFaultProxy } from './fault-proxy.ts';

before(ensureServices);

const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-docker-config-'));
const bin = join(dir, 'bin');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A credential helper speaking the docker-credential-helpers protocol: knows one server, else exits 1. */
function writeHelper(name: string, server: string, username: string, secret: string): void {
  const path = join(bin, `docker-credential-${name}`);
  writeFileSync(
    path,
    `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server || true
if [ "$server" = "${server}" ]; then
  printf '{"ServerURL":"%s","Username":"${username}","Secret":"${secret}"}' "$server"
else
  echo "credentials not found in native keychain" >&2; exit 1
fi
`,
  );
  chmodSync(path, 0o755);
}

function writeConfig(name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir };
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

before(() => {
  mkdirSync(bin);
  writeHelper('slsatest', 'helper.example:5000', 'from-helper', 'helper-secret');
  writeHelper('slsastore', 'store.example', 'from-store', 'store-secret');
});

test('config.json: credHelpers first, then auths, then credsStore', async () => {
  const path = writeConfig('order.json', {
    auths: {
      'plain.example': { auth: basic('alice', 'pa:ss') },
      'https://index.docker.io/v1/': { auth: basic('hub', 'hub-secret') },
      'helper.example:5000': { auth: basic('shadowed', 'by-helper') },
      'split.example': { username: 'bob', password: 'pw' },
      'token.example': { identitytoken: 'refresh-me' },
      'empty.example': {},
    },
    credHelpers: { 'helper.example:5000': 'slsatest' },
    credsStore: 'slsastore',
  });
  const creds = dockerConfigCredentials({ path, env });
  assert.deepEqual(await creds('plain.example'), { username: 'alice', password: 'pa:ss' });
  assert.deepEqual(await creds('docker.io'), { username: 'hub', password: 'hub-secret' });
  assert.deepEqual(await creds('helper.example:5000'), {
    username: 'from-helper',
    password: 'helper-secret',
  });
  assert.deepEqual(await creds('split.example'), { username: 'bob', password: 'pw' });
  assert.deepEqual(await creds('token.example'), { username: '<token>', password: 'refresh-me' });
  assert.deepEqual(await creds('store.example'), { username: 'from-store', password: 'store-secret' });
  assert.equal(await creds('empty.example'), undefined);
  assert.equal(await creds('unknown.example'), undefined);
});

test('config.json: a missing file means no credentials; a broken one or a missing helper is an error', async () => {
  assert.equal(
    await dockerConfigCredentials({ path: join(dir, 'absent.json'), env })('x.example'),
    undefined,
  );
  // DOCKER_CONFIG locates the file when no path is given.
  mkdirSync(join(dir, 'docker-config'));
  writeConfig('docker-config/config.json', { auths: { 'x.example': { auth: basic('dc', 'pw') } } });
  assert.deepEqual(
    await dockerConfigCredentials({ env: { ...env, DOCKER_CONFIG: join(dir, 'docker-config') } })(
      'x.example',
    ),
    {
      username: 'dc',
      password: 'pw',
    },
  );

  const broken = dockerConfigCredentials({ path: writeConfig('broken.json', '{ not json'), env });
  await assert.rejects(broken('x.example'), (err: GateError) => err.code === 'CONFIG_INVALID');
  const badAuth = dockerConfigCredentials({
    path: writeConfig('bad-auth.json', {
      auths: { 'x.example': { auth: basic('nocolon', '').slice(0, 4) } },
    }),
    env,
  });
  await assert.rejects(badAuth('x.example'), (err: GateError) => err.code === 'CONFIG_INVALID');
  const missingHelper = dockerConfigCredentials({
    path: writeConfig('no-helper.json', { credsStore: 'absent' }),
    env,
  });
  await assert.rejects(missingHelper('x.example'), (err: GateError) => err.code === 'REGISTRY_AUTH');
});

test('environment credentials apply to their one host and must be complete', async () => {
  const creds = envCredentials({
    SLSA_GATE_REGISTRY_HOST: 'ghcr.io',
    SLSA_GATE_REGISTRY_USERNAME: 'ci',
    SLSA_GATE_REGISTRY_PASSWORD: 'pw',
  });
  assert.deepEqual(await creds('ghcr.io'), { username: 'ci', password: 'pw' });
  assert.equal(await creds('other.example'), undefined);
  assert.equal(await envCredentials({})('ghcr.io'), undefined);
  assert.throws(
    () => envCredentials({ SLSA_GATE_REGISTRY_USERNAME: 'ci' }),
    (err: GateError) =>
      err.code === 'CONFIG_INVALID' &&
      JSON.stringify(err.detail?.missing) ===
        JSON.stringify(['SLSA_GATE_REGISTRY_HOST', 'SLSA_GATE_REGISTRY_PASSWORD']),
  );
});

test('providers are asked in order: explicit, then config.json, then environment', async () => {
  const path = writeConfig('chain.json', {
    auths: { 'a.example': { auth: basic('docker', 'd') }, 'b.example': { auth: basic('docker', 'd') } },
  });
  const creds = firstCredentials(
    staticCredentials({ 'a.example': { username: 'explicit', password: 'e' } }),
    dockerConfigCredentials({ path, env }),
    envCredentials({
      SLSA_GATE_REGISTRY_HOST: 'c.example',
      SLSA_GATE_REGISTRY_USERNAME: 'env',
      SLSA_GATE_REGISTRY_PASSWORD: 'v',
    }),
  );
  assert.equal((await creds('a.example'))?.username, 'explicit');
  assert.equal((await creds('b.example'))?.username, 'docker');
  assert.equal((await creds('c.example'))?.username, 'env');
  assert.equal(await creds('d.example'), undefined);
});

test('a registry behind Basic auth is reached with credentials from a credential helper', async () => {
  const repo = `registry/${uniqueName('docker-config')}`;
  const pushed = await pushTestImage(localRegistryClient(), repo);
  const good = `Basic ${basic('from-helper', 'helper-secret')}`;
  const proxy = await startFaultProxy((req) =>
    req.headers.authorization === good
      ? undefined
      : { respond: { status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } } },
  );
  try {
    writeHelper('slsaproxy', proxy.host, 'from-helper', 'helper-secret');
    const path = writeConfig('proxy.json', { credHelpers: { [proxy.host]: 'slsaproxy' } });
    const client = localRegistryClient({ credentials: dockerConfigCredentials({ path, env }) }, proxy.url);
    assert.equal((await client.getManifest(repo, pushed.digest)).digest, pushed.digest);
  } finally {
    await proxy.close();
  }
});

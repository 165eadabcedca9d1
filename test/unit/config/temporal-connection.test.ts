import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { before, describe, test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { resolveTemporalConnection } from '../../../src/config/temporal-connection.ts';
import { createTestPki, type TestPki } from '../../helpers/test-pki.ts';

let pki: TestPki;
before(() => {
  pki = createTestPki();
});

function configInvalid(fn: () => unknown, detail?: Record<string, unknown>) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    for (const [k, v] of Object.entries(detail ?? {})) assert.deepEqual(err.detail?.[k], v, `detail.${k}`);
    return true;
  });
}

function toml(text: string): string {
  const path = join(pki.dir, `temporal-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, text);
  return path;
}

describe('defaults and plain settings', () => {
  test('no settings: the local dev server, namespace slsa-gate, no TLS', () => {
    const t = resolveTemporalConnection({});
    assert.equal(t.address, '127.0.0.1:7233');
    assert.equal(t.namespace, 'slsa-gate');
    const opts = t.nativeConnectionOptions();
    assert.equal(opts.tls, undefined);
    assert.equal(opts.apiKey, undefined);
    assert.equal(t.summary.tls, 'off');
  });

  test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE reach both option sets and the config', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'prod' });
    assert.equal(config.temporalAddress, 'temporal.example:7233');
    assert.equal(config.temporalNamespace, 'prod');
    assert.equal(config.temporal.connectionOptions().address, 'temporal.example:7233');
    assert.equal(config.temporal.nativeConnectionOptions().address, 'temporal.example:7233');
  });

  test('an address with a scheme is refused', () => {
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_ADDRESS: 'https://temporal.example:7233' }), {
      variable: 'TEMPORAL_ADDRESS',
    });
  });
});

describe('profile file', () => {
  test('TEMPORAL_PROFILE selects a profile; variables override it', () => {
    const file = toml(
      '[profile.default]\naddress = "a.example:7233"\nnamespace = "a"\n\n[profile.prod]\naddress = "prod.example:7233"\nnamespace = "prod-ns"\n',
    );
    const prod = resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    assert.equal(prod.address, 'prod.example:7233');
    assert.equal(prod.namespace, 'prod-ns');
    const dflt = resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: file });
    assert.equal(dflt.address, 'a.example:7233');
    const overridden = resolveTemporalConnection({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'other',
    });
    assert.equal(overridden.address, 'prod.example:7233');
    assert.equal(overridden.namespace, 'other');
  });

  test('the default file under XDG_CONFIG_HOME is read', () => {
    const dir = join(pki.dir, 'xdg');
    mkdirSync(join(dir, 'temporalio'), { recursive: true });
    writeFileSync(join(dir, 'temporalio', 'temporal.toml'), '[profile.default]\nnamespace = "from-xdg"\n');
    assert.equal(resolveTemporalConnection({ XDG_CONFIG_HOME: dir }).namespace, 'from-xdg');
  });

  test('a missing TEMPORAL_CONFIG_FILE, an unknown profile and bad TOML are CONFIG_INVALID', () => {
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: join(pki.dir, 'nope.toml') }), {
      variable: 'TEMPORAL_CONFIG_FILE',
    });
    const file = toml('[profile.default]\naddress = "a.example:7233"\n');
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }), {
      profile: 'prod',
    });
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: toml('[profile.default\n') }));
  });

  test('a profile with mTLS files and a server name resolves to an mTLS connection', () => {
    const file = toml(
      `[profile.secure]\naddress = "temporal.internal:7233"\nnamespace = "gate"\n[profile.secure.tls]\nclient_cert_path = "${pki.files.clientCert}"\nclient_key_path = "${pki.files.clientKey}"\nserver_ca_cert_path = "${pki.files.caCert}"\nserver_name = "${pki.serverName}"\n`,
    );
    const t = resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'secure' });
    const tls = t.connectionOptions().tls;
    assert.ok(tls && typeof tls === 'object');
    assert.equal(tls.serverNameOverride, pki.serverName);
    assert.equal(Buffer.from(tls.serverRootCACertificate!).toString(), pki.caCert);
    assert.equal(Buffer.from(tls.clientCertPair!.crt).toString(), pki.clientCert);
    assert.deepEqual(t.nativeConnectionOptions().tls, tls);
    assert.equal(t.summary.tls, 'mtls');
  });
});

describe('TLS and API key from the environment', () => {
  test('the CLI names TEMPORAL_TLS_CERT/KEY/CA are aliases of the envconfig names', () => {
    const a = resolveTemporalConnection({
      TEMPORAL_TLS_CERT: pki.files.clientCert,
      TEMPORAL_TLS_KEY: pki.files.clientKey,
      TEMPORAL_TLS_CA: pki.files.caCert,
      TEMPORAL_TLS_SERVER_NAME: pki.serverName,
    });
    const b = resolveTemporalConnection({
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.files.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.files.clientKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.files.caCert,
      TEMPORAL_TLS_SERVER_NAME: pki.serverName,
    });
    assert.deepEqual(a.connectionOptions(), b.connectionOptions());
    assert.equal(a.summary.tls, 'mtls');
  });

  test('an alias and its envconfig name with different values are refused', () => {
    configInvalid(
      () =>
        resolveTemporalConnection({
          TEMPORAL_TLS_CA: pki.files.caCert,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.files.otherCaCert,
        }),
      { variables: ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'] },
    );
  });

  test('PEM given as data works like a file', () => {
    const t = resolveTemporalConnection({
      TEMPORAL_TLS_CLIENT_CERT_DATA: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_DATA: pki.clientKey,
    });
    const tls = t.nativeConnectionOptions().tls;
    assert.ok(tls && typeof tls === 'object');
    assert.equal(Buffer.from(tls.clientCertPair!.key).toString(), pki.clientKey);
  });

  test('a missing certificate file names the file and the variable', () => {
    const missing = join(pki.dir, 'missing-client.pem');
    configInvalid(
      () => resolveTemporalConnection({ TEMPORAL_TLS_CERT: missing, TEMPORAL_TLS_KEY: pki.files.clientKey }),
      { setting: 'clientCert', path: missing },
    );
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_TLS_CA: join(pki.dir, 'missing-ca.pem') }), {
      setting: 'serverCACert',
    });
  });

  test('a key without a certificate, or a certificate without a key, is refused naming the missing one', () => {
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_TLS_KEY: pki.files.clientKey }), {
      missing: 'clientCert',
    });
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_TLS_CERT: pki.files.clientCert }), {
      missing: 'clientKey',
    });
  });

  test('a key that does not belong to the certificate, and non-PEM files, are refused', () => {
    configInvalid(
      () =>
        resolveTemporalConnection({
          TEMPORAL_TLS_CERT: pki.files.clientCert,
          TEMPORAL_TLS_KEY: pki.files.strayKey,
        }),
      { setting: 'clientKey' },
    );
    configInvalid(
      () =>
        resolveTemporalConnection({
          TEMPORAL_TLS_CERT: pki.files.clientKey,
          TEMPORAL_TLS_KEY: pki.files.clientKey,
        }),
      { setting: 'client certificate' },
    );
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_TLS_CA: pki.files.clientKey }), {
      setting: 'server CA certificate',
    });
  });

  test('an API key turns TLS on (Temporal Cloud) and is never shown', () => {
    const secret = 'tc-api-key-0123456789abcdef';
    const t = resolveTemporalConnection({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: secret,
    });
    assert.equal(t.connectionOptions().apiKey, secret);
    assert.equal(t.nativeConnectionOptions().apiKey, secret);
    assert.deepEqual(t.connectionOptions().tls, {});
    assert.equal(t.summary.tls, 'tls');
    for (const shown of [
      t.describe(),
      JSON.stringify(t),
      inspect(t),
      inspect(loadConfig({ TEMPORAL_API_KEY: secret })),
    ]) {
      assert.ok(!shown.includes(secret), shown);
    }
  });

  test('an API key with TLS disabled, with an authorization header, empty, or with whitespace is refused', () => {
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }), {
      setting: 'apiKey',
    });
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_API_KEY: '' }), { setting: 'apiKey' });
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_API_KEY: 'key\n' }), { setting: 'apiKey' });
    configInvalid(
      () =>
        resolveTemporalConnection({ TEMPORAL_API_KEY: 'k', TEMPORAL_GRPC_META_AUTHORIZATION: 'Bearer x' }),
      { setting: 'apiKey' },
    );
    const file = toml('[profile.default]\napi_key = "k"\n[profile.default.tls]\ndisabled = true\n');
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: file }), { setting: 'apiKey' });
  });

  test('TLS disabled together with TLS settings, and host verification off, are refused', () => {
    configInvalid(() =>
      resolveTemporalConnection({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: pki.files.caCert }),
    );
    configInvalid(() => resolveTemporalConnection({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }), {
      variable: 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
    });
  });

  test('TEMPORAL_GRPC_META_* headers reach both connections and are not shown', () => {
    const t = resolveTemporalConnection({ TEMPORAL_GRPC_META_AUTHORIZATION: 'Bearer hdr-secret-42' });
    assert.deepEqual(t.connectionOptions().metadata, { authorization: 'Bearer hdr-secret-42' });
    assert.deepEqual(t.nativeConnectionOptions().metadata, { authorization: 'Bearer hdr-secret-42' });
    assert.ok(!inspect(t).includes('hdr-secret-42') && !JSON.stringify(t).includes('hdr-secret-42'));
  });

  test('TEMPORAL_TLS=true alone gives TLS with the system roots', () => {
    const t = resolveTemporalConnection({ TEMPORAL_TLS: 'true' });
    assert.deepEqual(t.nativeConnectionOptions().tls, {});
  });

  test('loadConfig reports Temporal problems as CONFIG_INVALID', () => {
    configInvalid(() => loadConfig({ TEMPORAL_TLS_KEY: pki.files.clientKey }), { missing: 'clientCert' });
  });
});

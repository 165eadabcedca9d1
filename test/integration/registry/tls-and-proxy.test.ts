import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { GateError } from '../../../src/core/errors.ts';
import { RegistryClient } from '../../../src/registry/client.ts';
import { ensureServices } from '../../helpers/services.ts';
import { startRegistry, type RegistryProcess } from './registry-process.ts';
import { isRetryableError } from '../../../src/core/errors.ts';

/**
 * TLS and proxies the way Node provides them: a private CA through
 * NODE_EXTRA_CA_CERTS, an HTTP(S) proxy through HTTPS_PROXY with
 * NODE_USE_ENV_PROXY=1. Both are read at process start, so the client runs in
 * a child process here, against a real registry serving https.
 */

before(ensureServices);

let registry: RegistryProcess;
before(async () => {
  registry = await startRegistry({ tls: true });
});
after(() => registry.stop());

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Pushes a small image with a RegistryClient in a child Node process and prints the digests it saw. */
async function pushFromChild(env: NodeJS.ProcessEnv): Promise<{ pushed: string; resolved: string }> {
  const script = `
    import { RegistryClient } from './src/registry/client.ts';
    import { buildImage, pushBuiltImage } from './src/registry/build-image.ts';
    const client = new RegistryClient(process.argv[1], { retry: { maxAttempts: 1 } });
    const pushed = await pushBuiltImage(client, 'registry/tls', buildImage({ seed: 'tls' }), { tag: 'v1' });
    const resolved = await client.resolve('registry/tls', 'v1');
    console.log(JSON.stringify({ pushed: pushed.digest, resolved: resolved.digest }));
  `;
  const childEnv = { ...process.env, ...env };
  delete childEnv.NO_PROXY;
  delete childEnv.no_proxy;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, registry.url],
    { cwd: root, env: childEnv },
  );
  return JSON.parse(stdout.trim()) as { pushed: string; resolved: string };
}

test('an https registry with a certificate we do not trust is a non-retryable REGISTRY_ERROR naming the TLS failure', async () => {
  const client = new RegistryClient(registry.url, { retry: { maxAttempts: 3, initialDelayMs: 10 } });
  await assert.rejects(client.resolve('registry/tls', 'v1'), (err: GateError) => {
    assert.equal(err.code, 'REGISTRY_ERROR');
    assert.equal(err.detail?.tls, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(isRetryableError(err), false);
    return true;
  });
});

test('with its CA in NODE_EXTRA_CA_CERTS the client pushes and resolves over https', async () => {
  const { pushed, resolved } = await pushFromChild({ NODE_EXTRA_CA_CERTS: registry.caFile });
  assert.match(pushed, /^sha256:[a-f0-9]{64}$/);
  assert.equal(resolved, pushed);
});

test('HTTPS_PROXY (with NODE_USE_ENV_PROXY=1) carries the registry traffic through the proxy', async () => {
  const tunnels: string[] = [];
  const proxy = createServer();
  // A forward proxy: CONNECT host:port, then bytes both ways.
  proxy.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const { pushed, resolved } = await pushFromChild({
      NODE_EXTRA_CA_CERTS: registry.caFile,
      NODE_USE_ENV_PROXY: '1',
      HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    });
    assert.equal(resolved, pushed);
    assert.ok(tunnels.length > 0, 'the child reached the registry through the proxy');
    assert.ok(tunnels.every((t) => t === registry.host));
  } finally {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

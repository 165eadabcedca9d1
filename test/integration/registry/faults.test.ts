import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { staticCredentials } from '../../../src/registry/credentials.ts';
import { cosignAttestationTag, findCosignAttestations } from '../../../src/registry/cosign-attestations.ts';
import { listReferrers, referrersTag } from '../../../src/registry/referrers.ts';
import { attachTestReferrer, localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { startFaultProxy, type FaultDecision, type FaultProxy } from './fault-proxy.ts';
import { isRetryableError } from '../../../src/core/errors.ts';

before(ensureServices);

// One proxy for the file; each test installs its own rule.
let proxy: FaultProxy;
let rule: (req: IncomingMessage) => FaultDecision = () => undefined;
before(async () => {
  proxy = await startFaultProxy((req) => rule(req));
});
beforeEach(() => {
  rule = () => undefined;
  proxy.seen.length = 0;
});
after(() => proxy.close());

const direct = () => localRegistryClient();
const viaProxy = (options: Parameters<typeof localRegistryClient>[0] = {}) =>
  localRegistryClient(options, proxy.url);
const isManifestGet = (req: IncomingMessage, digest: string) =>
  req.method === 'GET' && req.url === `/v2/${req.url?.split('/manifests/')[0]?.slice(4)}/manifests/${digest}`;

test('a manifest whose bytes were altered in transit is DIGEST_MISMATCH', async () => {
  const repo = `registry/${uniqueName('tamper')}`;
  const pushed = await pushTestImage(direct(), repo);
  rule = (req) =>
    isManifestGet(req, pushed.digest)
      ? {
          forward: true,
          rewriteBody: (body) =>
            Buffer.from(body.toString().replace('"schemaVersion":2', '"schemaVersion": 2')),
        }
      : undefined;
  await assert.rejects(viaProxy().getManifest(repo, pushed.digest), (err: GateError) => {
    assert.equal(err.code, 'DIGEST_MISMATCH');
    assert.equal(isRetryableError(err), false);
    return true;
  });
});

test('a blob whose bytes were altered in transit is DIGEST_MISMATCH', async () => {
  const repo = `registry/${uniqueName('tamper-blob')}`;
  const bytes = new TextEncoder().encode('original layer bytes');
  const digest = await direct().pushBlob(repo, bytes);
  rule = (req) =>
    req.method === 'GET' && req.url?.endsWith(`/blobs/${digest}`)
      ? { forward: true, rewriteBody: (body) => Buffer.from(body.toString().replace('original', 'ORIGINAL')) }
      : undefined;
  await assert.rejects(
    viaProxy().getBlob(repo, digest, 1024),
    (err: GateError) => err.code === 'DIGEST_MISMATCH',
  );
});

test('a HEAD whose Docker-Content-Digest differs from the requested digest is DIGEST_MISMATCH', async () => {
  const repo = `registry/${uniqueName('tamper-head')}`;
  const pushed = await pushTestImage(direct(), repo);
  const other = `sha256:${'0'.repeat(64)}`;
  rule = (req) =>
    req.method === 'HEAD'
      ? {
          respond: {
            status: 200,
            headers: {
              'docker-content-digest': other,
              'content-type': 'application/vnd.oci.image.manifest.v1+json',
              'content-length': '10',
            },
          },
        }
      : undefined;
  await assert.rejects(
    viaProxy().resolve(repo, pushed.digest),
    (err: GateError) => err.code === 'DIGEST_MISMATCH',
  );
});

test('resolve without a Docker-Content-Digest header falls back to GET and hashes the bytes', async () => {
  const repo = `registry/${uniqueName('nohead')}`;
  const pushed = await pushTestImage(direct(), repo, { tag: 'v1' });
  rule = (req) => (req.method === 'HEAD' ? { respond: { status: 200, headers: {} } } : undefined);
  const resolved = await viaProxy().resolve(repo, 'v1');
  assert.equal(resolved.digest, pushed.digest);
  assert.equal(resolved.size, pushed.manifestBytes.byteLength);
  assert.ok(proxy.seen.some((s) => s === `GET /v2/${repo}/manifests/v1`));
});

test('503 twice, then success: the client retries and returns the manifest', async () => {
  const repo = `registry/${uniqueName('retry')}`;
  const pushed = await pushTestImage(direct(), repo);
  let failures = 0;
  rule = (req) =>
    isManifestGet(req, pushed.digest) && failures++ < 2 ? { respond: { status: 503 } } : undefined;
  const got = await viaProxy().getManifest(repo, pushed.digest);
  assert.equal(got.digest, pushed.digest);
  assert.equal(failures, 3);
  assert.equal(proxy.seen.filter((s) => s.startsWith('GET')).length, 3);
});

test('Retry-After on 429 is waited out before the retry', async () => {
  const repo = `registry/${uniqueName('retry-after')}`;
  const pushed = await pushTestImage(direct(), repo);
  let failures = 0;
  rule = (req) =>
    isManifestGet(req, pushed.digest) && failures++ < 1
      ? { respond: { status: 429, headers: { 'retry-after': '1' } } }
      : undefined;
  const started = performance.now();
  await viaProxy().getManifest(repo, pushed.digest);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 950, `retried after ${elapsed.toFixed(0)} ms, Retry-After asked for 1000 ms`);
});

test('a Retry-After beyond the bound fails at once as retryable, for the caller to reschedule', async () => {
  const repo = `registry/${uniqueName('retry-long')}`;
  const pushed = await pushTestImage(direct(), repo);
  rule = (req) =>
    isManifestGet(req, pushed.digest)
      ? { respond: { status: 503, headers: { 'retry-after': '3600' } } }
      : undefined;
  const started = performance.now();
  await assert.rejects(viaProxy().getManifest(repo, pushed.digest), (err: GateError) => {
    assert.equal(err.code, 'REGISTRY_UNAVAILABLE');
    assert.equal(isRetryableError(err), true);
    return true;
  });
  assert.ok(performance.now() - started < 2000);
});

test('persistent 503 ends as a REGISTRY_UNAVAILABLE (retryable) after maxAttempts', async () => {
  const repo = `registry/${uniqueName('retry-exhausted')}`;
  const pushed = await pushTestImage(direct(), repo);
  rule = (req) => (isManifestGet(req, pushed.digest) ? { respond: { status: 503 } } : undefined);
  await assert.rejects(
    viaProxy({ retry: { maxAttempts: 3, initialDelayMs: 10 } }).getManifest(repo, pushed.digest),
    (err: GateError) => err.code === 'REGISTRY_UNAVAILABLE' && isRetryableError(err),
  );
  assert.equal(proxy.seen.filter((s) => s.startsWith('GET')).length, 3);
});

test('a 400 is not retried', async () => {
  const repo = `registry/${uniqueName('no-retry')}`;
  const pushed = await pushTestImage(direct(), repo);
  rule = (req) => (isManifestGet(req, pushed.digest) ? { respond: { status: 400 } } : undefined);
  await assert.rejects(
    viaProxy().getManifest(repo, pushed.digest),
    (err: GateError) => err.code === 'REGISTRY_ERROR' && !isRetryableError(err),
  );
  assert.equal(proxy.seen.filter((s) => s.startsWith('GET')).length, 1);
});

test('a connection cut mid-body is retried', async () => {
  const repo = `registry/${uniqueName('drop')}`;
  const pushed = await pushTestImage(direct(), repo);
  let drops = 0;
  rule = (req) =>
    isManifestGet(req, pushed.digest) && drops++ < 1 ? { drop: { afterBytes: 10 } } : undefined;
  assert.equal((await viaProxy().getManifest(repo, pushed.digest)).digest, pushed.digest);
  assert.equal(drops, 2);
});

test('a mount the registry declines (202) falls back to copying the bytes through the upload it opened', async () => {
  const client = viaProxy();
  const from = `registry/${uniqueName('mount-src')}`;
  const to = `registry/${uniqueName('mount-dst')}`;
  const bytes = new TextEncoder().encode(`copied ${from}`);
  const digest = await client.pushBlob(from, bytes);
  // Strip the mount parameters: distribution then opens a plain upload session (202).
  rule = (req) =>
    req.method === 'POST' && req.url?.includes('mount=')
      ? { forward: true, path: `/v2/${to}/blobs/uploads/` }
      : undefined;
  assert.equal(await client.mountBlob(from, to, digest), 'copied');
  assert.deepEqual(await direct().getBlob(to, digest, bytes.byteLength), bytes);
});

test('Basic challenge: right credentials pass, wrong ones are a non-retryable REGISTRY_AUTH', async () => {
  const repo = `registry/${uniqueName('basic')}`;
  const pushed = await pushTestImage(direct(), repo);
  const good = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;
  rule = (req) =>
    req.headers.authorization === good
      ? undefined
      : { respond: { status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } } };
  const host = proxy.host;
  const ok = viaProxy({ credentials: staticCredentials({ [host]: { username: 'ci', password: 's3cret' } }) });
  assert.equal((await ok.getManifest(repo, pushed.digest)).digest, pushed.digest);

  const wrong = viaProxy({
    credentials: staticCredentials({ [host]: { username: 'ci', password: 'n0pe-secret' } }),
  });
  await assert.rejects(wrong.getManifest(repo, pushed.digest), (err: GateError) => {
    assert.equal(err.code, 'REGISTRY_AUTH');
    assert.equal(isRetryableError(err), false);
    // The password never reaches an error that logs or the archive would keep.
    const said = `${err.message} ${JSON.stringify(err.detail)}`;
    assert.ok(
      !said.includes('n0pe-secret') && !said.includes(Buffer.from('ci:n0pe-secret').toString('base64')),
    );
    return true;
  });
  await assert.rejects(
    viaProxy().getManifest(repo, pushed.digest),
    (err: GateError) => err.code === 'REGISTRY_AUTH',
  );
});

test('a redirect to plain http on a non-loopback host is refused without following it', async () => {
  const repo = `registry/${uniqueName('redirect-http')}`;
  const digest = await direct().pushBlob(repo, new TextEncoder().encode('redirected'));
  rule = (req) =>
    req.method === 'GET' && req.url?.endsWith(`/blobs/${digest}`)
      ? { respond: { status: 307, headers: { location: `http://storage.invalid/blob` } } }
      : undefined;
  await assert.rejects(viaProxy().getBlob(repo, digest, 1024), (err: GateError) => {
    assert.equal(err.code, 'REGISTRY_ERROR');
    assert.equal(isRetryableError(err), false);
    return true;
  });
});

test('a redirect to another origin is followed without the Authorization header', async () => {
  const repo = `registry/${uniqueName('redirect-auth')}`;
  const bytes = new TextEncoder().encode('redirected with auth');
  const digest = await direct().pushBlob(repo, bytes);
  const storageAuth: Array<string | undefined> = [];
  const storage = await startFaultProxy((req) => {
    storageAuth.push(req.headers.authorization);
    return undefined;
  });
  try {
    const good = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;
    rule = (req): FaultDecision => {
      if (req.headers.authorization !== good) {
        return { respond: { status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } } };
      }
      return req.method === 'GET' && req.url?.endsWith(`/blobs/${digest}`)
        ? { respond: { status: 307, headers: { location: `${storage.url}${req.url}` } } }
        : undefined;
    };
    const client = viaProxy({
      insecureHosts: [proxy.host, storage.host],
      credentials: staticCredentials({ [proxy.host]: { username: 'ci', password: 's3cret' } }),
    });
    assert.deepEqual(await client.getBlob(repo, digest, 1024), bytes);
    assert.deepEqual(storageAuth, [undefined]);
  } finally {
    await storage.close();
  }
});

test('with a referrers API the index comes from the API and attaching leaves no fallback tag', async () => {
  const client = viaProxy();
  const repo = `registry/${uniqueName('referrers-api')}`;
  const image = await pushTestImage(client, repo);
  const listed = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${'2'.repeat(64)}`,
        size: 100,
        artifactType: 'application/vnd.in-toto+json',
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${'3'.repeat(64)}`,
        size: 100,
        artifactType: 'application/example',
      },
    ],
  };
  rule = (req) =>
    req.method === 'GET' && req.url === `/v2/${repo}/referrers/${image.digest}`
      ? {
          respond: {
            status: 200,
            headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
            body: JSON.stringify(listed),
          },
        }
      : undefined;
  const found = await listReferrers(client, repo, image.digest, 'application/vnd.in-toto+json');
  assert.deepEqual(
    found.map((d) => d.digest),
    [`sha256:${'2'.repeat(64)}`],
  );
  assert.equal(await client.hasReferrersApi(repo, image.digest), true);

  await attachTestReferrer(client, repo, image.digest);
  assert.equal(await direct().getManifestByTag(repo, referrersTag(image.digest)), undefined);
});

test('a body larger than the cap with no Content-Length is cut off while streaming', async () => {
  const repo = `registry/${uniqueName('endless')}`;
  const written = { bytes: 0 };
  const digest = `sha256:${'4'.repeat(64)}`;
  rule = (req) =>
    req.method === 'GET' && req.url?.endsWith(`/blobs/${digest}`) ? { stream: { written } } : undefined;
  const limit = 10 * 1024 * 1024;
  await assert.rejects(viaProxy().getAttestationLayer(repo, { digest, size: limit }), (err: GateError) => {
    assert.equal(err.code, 'LIMIT_EXCEEDED');
    assert.equal(isRetryableError(err), false);
    return true;
  });
  // The proxy could only push what socket buffers absorb before the client hung up.
  assert.ok(written.bytes < 4 * limit, `proxy wrote ${written.bytes} bytes`);
});

test('referrers API pages are followed through Link rel="next" and capped in total', async () => {
  const repo = `registry/${uniqueName('referrers-pages')}`;
  const image = await pushTestImage(direct(), repo);
  const descriptor = (n: number) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).repeat(64)}`,
    size: 100,
    artifactType: 'application/vnd.in-toto+json',
  });
  const path = `/v2/${repo}/referrers/${image.digest}`;
  rule = (req) => {
    if (req.method !== 'GET' || !req.url?.startsWith(path)) return undefined;
    const second = req.url.includes('page=2');
    return {
      respond: {
        status: 200,
        headers: {
          'content-type': 'application/vnd.oci.image.index.v1+json',
          ...(second ? {} : { link: `<${path}?page=2>; rel="next"` }),
        },
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: second ? [descriptor(7)] : [descriptor(5), descriptor(6)],
        }),
      },
    };
  };
  const found = await listReferrers(viaProxy(), repo, image.digest);
  assert.deepEqual(
    found.map((d) => d.digest[7]),
    ['5', '6', '7'],
  );
  await assert.rejects(
    listReferrers(viaProxy({ limits: { maxReferrers: 2 } }), repo, image.digest),
    (err: GateError) => err.code === 'LIMIT_EXCEEDED',
  );
});

test('an unreachable registry is a REGISTRY_UNAVAILABLE (retryable) once the attempts are spent', async () => {
  const gone = await startFaultProxy(() => undefined);
  await gone.close();
  const client = localRegistryClient({ retry: { maxAttempts: 2, initialDelayMs: 10 } }, gone.url);
  await assert.rejects(client.resolve('registry/unreachable', 'v1'), (err: GateError) => {
    assert.equal(err.code, 'REGISTRY_UNAVAILABLE');
    assert.equal(isRetryableError(err), true);
    return true;
  });
});

test('a cosign .att manifest listing 10k attestations is LIMIT_EXCEEDED before any layer is fetched', async () => {
  const repo = `registry/${uniqueName('att-flood')}`;
  const image = await pushTestImage(direct(), repo);
  const layer = (i: number) => ({
    mediaType: 'application/vnd.dsse.envelope.v1+json',
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: 1000,
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${'e'.repeat(64)}`,
      size: 2,
    },
    layers: Array.from({ length: 10_000 }, (_, i) => layer(i)),
  });
  rule = (req) =>
    req.method === 'GET' && req.url?.endsWith(`/manifests/${cosignAttestationTag(image.digest)}`)
      ? {
          respond: {
            status: 200,
            headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
            body: manifest,
          },
        }
      : undefined;
  await assert.rejects(findCosignAttestations(viaProxy(), repo, image.digest), (err: GateError) => {
    assert.equal(err.code, 'LIMIT_EXCEEDED');
    assert.equal(err.detail?.count, 10_000);
    return true;
  });
  assert.equal(proxy.seen.filter((s) => s.includes('/blobs/')).length, 0);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { sha256Digest } from '../../../src/registry/digest.ts';
import { MEDIA_TYPES } from '../../../src/registry/oci-manifest.ts';
import { localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { isRetryableError } from '../../../src/core/errors.ts';

before(ensureServices);

const hasCode = (code: string) => (err: unknown) => (err as GateError).code === code;

test('resolve pins a tag to the digest of the pushed manifest, and a digest to itself', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('resolve')}`;
  const pushed = await pushTestImage(client, repo, { tag: 'v1' });
  assert.equal(pushed.digest, sha256Digest(pushed.manifestBytes));

  const byTag = await client.resolve(repo, 'v1');
  assert.deepEqual(byTag, {
    digest: pushed.digest,
    mediaType: MEDIA_TYPES.ociManifest,
    size: pushed.manifestBytes.byteLength,
  });
  assert.deepEqual(await client.resolve(repo, pushed.digest), byTag);
});

test('getManifest returns the exact bytes by digest and refuses a tag with MUTABLE_REF', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('manifest')}`;
  const pushed = await pushTestImage(client, repo, { tag: 'v1' });

  const got = await client.getManifest(repo, pushed.digest);
  assert.deepEqual(got.bytes, pushed.manifestBytes);
  assert.equal(got.digest, pushed.digest);
  assert.equal(got.mediaType, MEDIA_TYPES.ociManifest);
  await assert.rejects(client.getManifest(repo, 'v1'), hasCode('MUTABLE_REF'));
});

test('a manifest over the size cap is refused with LIMIT_EXCEEDED', async () => {
  const repo = `registry/${uniqueName('cap')}`;
  const pushed = await pushTestImage(localRegistryClient(), repo);
  const small = localRegistryClient({ limits: { maxManifestBytes: pushed.manifestBytes.byteLength - 1 } });
  await assert.rejects(small.getManifest(repo, pushed.digest), (err: GateError) => {
    assert.equal(err.code, 'LIMIT_EXCEEDED');
    assert.equal(isRetryableError(err), false);
    return true;
  });
});

test('getBlob checks the digest and the cap; blobExists tells present from absent', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('blob')}`;
  const bytes = new TextEncoder().encode(`blob ${repo}`);
  const digest = await client.pushBlob(repo, bytes);
  assert.equal(digest, sha256Digest(bytes));
  assert.deepEqual(await client.getBlob(repo, digest, bytes.byteLength), bytes);
  await assert.rejects(client.getBlob(repo, digest, bytes.byteLength - 1), hasCode('LIMIT_EXCEEDED'));
  await assert.rejects(
    client.getAttestationLayer(repo, { digest, size: 11 * 1024 * 1024 }),
    hasCode('LIMIT_EXCEEDED'),
  );
  assert.equal(await client.blobExists(repo, digest), true);
  assert.equal(await client.blobExists(repo, sha256Digest(new TextEncoder().encode('absent'))), false);
  // Pushing again is a no-op that returns the same digest.
  assert.equal(await client.pushBlob(repo, bytes), digest);
});

test('a missing manifest is a non-retryable REGISTRY_ERROR with status 404', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('missing')}`;
  await assert.rejects(client.getManifest(repo, sha256Digest(new Uint8Array([1]))), (err: GateError) => {
    assert.equal(err.code, 'REGISTRY_ERROR');
    assert.equal(err.detail?.status, 404);
    assert.equal(isRetryableError(err), false);
    return true;
  });
});

test('mountBlob mounts across repositories of the same registry (201)', async () => {
  const client = localRegistryClient();
  const from = `registry/${uniqueName('mount-from')}`;
  const to = `registry/${uniqueName('mount-to')}`;
  const bytes = new TextEncoder().encode(`mounted ${from}`);
  const digest = await client.pushBlob(from, bytes);
  assert.equal(await client.blobExists(to, digest), false);
  assert.equal(await client.mountBlob(from, to, digest), 'mounted');
  assert.deepEqual(await client.getBlob(to, digest, bytes.byteLength), bytes);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { copyImage, type CopyProgress } from '../../../src/registry/copy-image.ts';
import { MEDIA_TYPES } from '../../../src/registry/oci-manifest.ts';
import { localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { startFaultProxy } from './fault-proxy.ts';

before(ensureServices);

test('copyImage copies an image by digest with cross-repo mounts; a re-run pushes nothing', async () => {
  const client = localRegistryClient();
  const staging = `registry/${uniqueName('staging')}`;
  const release = `registry/${uniqueName('release')}`;
  const pushed = await pushTestImage(client, staging, { tag: 'candidate' });

  const progress: CopyProgress[] = [];
  const first = await copyImage(client, staging, release, pushed.digest, {
    onProgress: (p) => progress.push(p),
  });
  assert.equal(first.digest, pushed.digest);
  assert.deepEqual(first.blobs, { mounted: pushed.blobDigests.length, copied: 0, skipped: 0 });
  assert.equal(first.manifestsPushed, 1);
  assert.deepEqual(
    progress.map((p) => p.done),
    progress.map((_, i) => i + 1),
  );
  assert.deepEqual((await client.getManifest(release, pushed.digest)).bytes, pushed.manifestBytes);
  for (const digest of pushed.blobDigests) {
    assert.deepEqual(
      await client.getBlob(release, digest, 1 << 20),
      await client.getBlob(staging, digest, 1 << 20),
    );
  }

  const again = await copyImage(client, staging, release, pushed.digest);
  assert.deepEqual(again.blobs, { mounted: 0, copied: 0, skipped: pushed.blobDigests.length });
  assert.equal(again.manifestsPushed, 0);
});

test('copyImage copies an image index and both platform children, byte-identical', async () => {
  const client = localRegistryClient();
  const staging = `registry/${uniqueName('staging-idx')}`;
  const release = `registry/${uniqueName('release-idx')}`;
  const pushed = await pushTestImage(client, staging, { index: true });
  assert.equal(pushed.mediaType, MEDIA_TYPES.ociIndex);

  const result = await copyImage(client, staging, release, pushed.digest);
  assert.equal(result.mediaType, MEDIA_TYPES.ociIndex);
  assert.equal(result.manifests.length, 3);
  assert.equal(result.manifests.at(-1), pushed.digest);
  assert.equal(result.manifestsPushed, 3);
  for (const digest of result.manifests) {
    assert.deepEqual(
      (await client.getManifest(release, digest)).bytes,
      (await client.getManifest(staging, digest)).bytes,
    );
  }
  for (const digest of pushed.blobDigests) assert.equal(await client.blobExists(release, digest), true);

  const again = await copyImage(client, staging, release, pushed.digest);
  assert.equal(again.manifestsPushed, 0);
  assert.equal(again.blobs.skipped, pushed.blobDigests.length);
});

test('copyImage after a crash half-way completes the copy without pushing anything twice', async () => {
  const client = localRegistryClient();
  const staging = `registry/${uniqueName('staging-crash')}`;
  const release = `registry/${uniqueName('release-crash')}`;
  const pushed = await pushTestImage(client, staging, { index: true });
  // The "crash": only the first blob made it before the worker died.
  await client.mountBlob(staging, release, pushed.blobDigests[0]!);

  const result = await copyImage(client, staging, release, pushed.digest);
  assert.equal(result.blobs.skipped, 1);
  assert.equal(result.blobs.mounted, pushed.blobDigests.length - 1);
  assert.deepEqual((await client.getManifest(release, pushed.digest)).bytes, pushed.manifestBytes);
});

test('copyImage to another registry host GETs and pushes the blobs through the target client', async () => {
  const proxy = await startFaultProxy(() => undefined);
  try {
    const source = localRegistryClient();
    const target = localRegistryClient({}, proxy.url);
    const staging = `registry/${uniqueName('staging-x')}`;
    const release = `registry/${uniqueName('release-x')}`;
    const pushed = await pushTestImage(source, staging);
    const result = await copyImage(source, staging, release, pushed.digest, { target });
    assert.deepEqual(result.blobs, { mounted: 0, copied: pushed.blobDigests.length, skipped: 0 });
    assert.ok(!proxy.seen.some((s) => s.includes('mount=')));
    assert.deepEqual((await source.getManifest(release, pushed.digest)).bytes, pushed.manifestBytes);
  } finally {
    await proxy.close();
  }
});

test('copyImage refuses a tag (MUTABLE_REF)', async () => {
  const client = localRegistryClient();
  const staging = `registry/${uniqueName('staging-tag')}`;
  await pushTestImage(client, staging, { tag: 'v1' });
  await assert.rejects(
    copyImage(client, staging, `registry/${uniqueName('release-tag')}`, 'v1'),
    (err: GateError) => err.code === 'MUTABLE_REF',
  );
});

test('tag points a tag at a digest and checks it; re-tagging is idempotent', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('tag')}`;
  const a = await pushTestImage(client, repo, { seed: 'a' });
  const b = await pushTestImage(client, repo, { seed: 'b' });
  await client.tag(repo, 'v1', a.digest);
  assert.equal((await client.resolve(repo, 'v1')).digest, a.digest);
  await client.tag(repo, 'v1', a.digest);
  await client.tag(repo, 'v1', b.digest);
  assert.equal((await client.resolve(repo, 'v1')).digest, b.digest);
  await assert.rejects(
    client.tag(repo, 'not a tag', a.digest),
    (err: GateError) => err.code === 'INPUT_INVALID',
  );
});

test('tag is DIGEST_MISMATCH when the registry stores something else under the tag', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('tag-lie')}`;
  const a = await pushTestImage(client, repo, { seed: 'a' });
  const other = `sha256:${'1'.repeat(64)}`;
  const proxy = await startFaultProxy((req) =>
    req.method === 'PUT' && req.url === `/v2/${repo}/manifests/v1`
      ? { respond: { status: 201, headers: { 'docker-content-digest': other } } }
      : undefined,
  );
  try {
    await assert.rejects(
      localRegistryClient({}, proxy.url).tag(repo, 'v1', a.digest),
      (err: GateError) => err.code === 'DIGEST_MISMATCH',
    );
  } finally {
    await proxy.close();
  }
});

test('putManifest refuses bytes that do not hash to the digest reference', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('put')}`;
  const a = await pushTestImage(client, repo, { seed: 'a' });
  const b = await pushTestImage(client, repo, { seed: 'b' });
  await assert.rejects(
    client.putManifest(repo, a.digest, b.manifestBytes, MEDIA_TYPES.ociManifest),
    (err: GateError) => err.code === 'DIGEST_MISMATCH',
  );
});

test('a tag moved after it was resolved changes nothing: the pinned digest is what gets copied', async () => {
  const client = localRegistryClient();
  const staging = `registry/${uniqueName('staging-moved')}`;
  const release = `registry/${uniqueName('release-moved')}`;
  const verified = await pushTestImage(client, staging, { tag: 'candidate', seed: 'verified' });
  const pinned = (await client.resolve(staging, 'candidate')).digest;
  // Someone pushes other content under the same tag between verification and publish.
  const swapped = await pushTestImage(client, staging, { tag: 'candidate', seed: 'swapped' });
  assert.equal((await client.resolve(staging, 'candidate')).digest, swapped.digest);

  await copyImage(client, staging, release, pinned);
  await client.tag(release, 'v1', pinned);
  assert.equal((await client.resolve(release, 'v1')).digest, verified.digest);
  assert.equal(await client.manifestExists(release, swapped.digest), false);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allBlobs, buildImage, buildImageIndex, tarWithFile } from '../../../src/registry/build-image.ts';
import { sha256Digest } from '../../../src/registry/digest.ts';
import { MEDIA_TYPES, parseImageIndex, parseImageManifest } from '../../../src/registry/oci-manifest.ts';

test('buildImage is deterministic from its seed and differs between seeds', () => {
  assert.equal(buildImage({ seed: 's' }).digest, buildImage({ seed: 's' }).digest);
  assert.notEqual(buildImage({ seed: 's' }).digest, buildImage({ seed: 't' }).digest);
});

test('a built image manifest references its config and layers by their digests and sizes', () => {
  const image = buildImage({ seed: 's', layers: 2 });
  assert.equal(image.digest, sha256Digest(image.bytes));
  const manifest = parseImageManifest(image.bytes, 'built');
  assert.equal(manifest.mediaType, MEDIA_TYPES.ociManifest);
  const described = [manifest.config, ...manifest.layers].map((d) => [d.digest, d.size]);
  assert.deepEqual(
    described,
    image.blobs.map((b) => [sha256Digest(b.bytes), b.bytes.byteLength]),
  );
  const config = JSON.parse(new TextDecoder().decode(image.blobs[0]!.bytes));
  assert.deepEqual(
    config.rootfs.diff_ids,
    manifest.layers.map((l) => l.digest),
  );
});

test('a built index has two platform children whose blobs are all listed', () => {
  const index = buildImageIndex({ seed: 's' });
  const parsed = parseImageIndex(index.bytes, 'built');
  assert.deepEqual(
    parsed.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`),
    ['linux/amd64', 'linux/arm64'],
  );
  assert.deepEqual(
    parsed.manifests.map((m) => m.digest),
    index.children.map((c) => c.digest),
  );
  assert.equal(allBlobs(index).length, 6);
});

test('tarWithFile writes a ustar header with a valid checksum, the content and the end blocks', () => {
  const content = new TextEncoder().encode('hello');
  const tar = tarWithFile('a.txt', content);
  assert.equal(tar.byteLength, 512 + 512 + 1024);
  const header = tar.subarray(0, 512);
  const field = (o: number, n: number) =>
    new TextDecoder().decode(header.subarray(o, o + n)).replace(/\0.*$/s, '');
  assert.equal(field(0, 100), 'a.txt');
  assert.equal(parseInt(field(124, 12), 8), 5);
  assert.equal(field(257, 6), 'ustar');
  const stored = parseInt(field(148, 8), 8);
  const computed = header.reduce((sum, b, i) => sum + (i >= 148 && i < 156 ? 32 : b), 0);
  assert.equal(stored, computed);
  assert.deepEqual(tar.subarray(512, 517), content);
});

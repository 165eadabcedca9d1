import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

before(ensureServices);

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const start = await fetch(`${services.registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const location = new URL(start.headers.get('location') ?? '', services.registryUrl);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(put.status, 201);
  return digest;
}

test('the registry stores a blob and an OCI image manifest and returns them by digest, byte for byte', async () => {
  const repo = `smoke/${uniqueName('img')}`;
  const layer = new TextEncoder().encode(`layer ${repo}`);
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layerDigest = await pushBlob(repo, layer);
  const configDigest = await pushBlob(repo, config);

  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const manifestDigest = sha256(manifest);
  const put = await fetch(`${services.registryUrl}/v2/${repo}/manifests/v1`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('docker-content-digest'), manifestDigest);

  const gotManifest = await fetch(`${services.registryUrl}/v2/${repo}/manifests/${manifestDigest}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(gotManifest.status, 200);
  assert.deepEqual(new Uint8Array(await gotManifest.arrayBuffer()), manifest);

  const gotLayer = await fetch(`${services.registryUrl}/v2/${repo}/blobs/${layerDigest}`);
  assert.equal(gotLayer.status, 200);
  assert.deepEqual(new Uint8Array(await gotLayer.arrayBuffer()), layer);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { COSIGN_ANNOTATIONS, findCosignAttestations } from '../../../src/registry/cosign-attestations.ts';
import { sha256Digest } from '../../../src/registry/digest.ts';
import { MEDIA_TYPES } from '../../../src/registry/oci-manifest.ts';
import { getReferrer, listReferrers, referrersTag } from '../../../src/registry/referrers.ts';
import {
  attachTestAttestation,
  attachTestReferrer,
  localRegistryClient,
  pushTestImage,
  testEnvelope,
} from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';

before(ensureServices);

test('attachReferrer uses the tag fallback: re-attaching is idempotent, a second artifact is added', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('referrers')}`;
  const image = await pushTestImage(client, repo, { tag: 'v1' });
  assert.deepEqual(await listReferrers(client, repo, image.digest), []);

  const first = await attachTestReferrer(client, repo, image.digest, 'one');
  assert.equal(await client.hasReferrersApi(repo, image.digest), false);
  const again = await attachTestReferrer(client, repo, image.digest, 'one');
  assert.equal(again, first);
  let listed = await listReferrers(client, repo, image.digest);
  assert.deepEqual(
    listed.map((d) => d.digest),
    [first],
  );
  assert.equal(listed[0]!.artifactType, 'application/vnd.in-toto+json');
  assert.equal(listed[0]!.annotations?.['org.opencontainers.image.description'], 'one');

  const second = await attachTestReferrer(client, repo, image.digest, 'two');
  assert.notEqual(second, first);
  listed = await listReferrers(client, repo, image.digest);
  assert.deepEqual(listed.map((d) => d.digest).sort(), [first, second].sort());

  // The fallback index is a real OCI index under the sha256-<hex> tag.
  const fallback = await client.resolve(repo, referrersTag(image.digest));
  assert.equal(fallback.mediaType, MEDIA_TYPES.ociIndex);
  assert.deepEqual(await listReferrers(client, repo, image.digest, 'application/other'), []);
});

test('getReferrer returns the artifact manifest, its subject checked, and its layer bytes', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('referrer-get')}`;
  const image = await pushTestImage(client, repo);
  const other = await pushTestImage(client, repo, { seed: 'other' });
  const referrer = await attachTestReferrer(client, repo, image.digest);
  const [descriptor] = await listReferrers(client, repo, image.digest, 'application/vnd.in-toto+json');
  assert.ok(descriptor);

  const fetched = await getReferrer(client, repo, image.digest, descriptor);
  assert.equal(fetched.digest, referrer);
  assert.equal(fetched.manifest.artifactType, 'application/vnd.in-toto+json');
  assert.equal(fetched.manifest.config.mediaType, MEDIA_TYPES.ociEmpty);
  assert.equal(fetched.manifest.subject?.digest, image.digest);
  const layer = fetched.manifest.layers[0]!;
  assert.deepEqual(await client.getAttestationLayer(repo, layer), testEnvelope(image.digest));

  await assert.rejects(
    getReferrer(client, repo, other.digest, descriptor),
    (err: GateError) => err.code === 'SUBJECT_MISMATCH',
  );
});

test('a referrers index over the count limit is LIMIT_EXCEEDED', async () => {
  const repo = `registry/${uniqueName('referrers-many')}`;
  const client = localRegistryClient();
  const image = await pushTestImage(client, repo);
  await attachTestReferrer(client, repo, image.digest, 'one');
  await attachTestReferrer(client, repo, image.digest, 'two');
  const capped = localRegistryClient({ limits: { maxReferrers: 1 } });
  await assert.rejects(
    listReferrers(capped, repo, image.digest),
    (err: GateError) => err.code === 'LIMIT_EXCEEDED',
  );
});

test('cosign-style .att attestations are found with their DSSE layers and annotations', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('cosign')}`;
  const image = await pushTestImage(client, repo, { tag: 'v1' });
  assert.equal(await findCosignAttestations(client, repo, image.digest), undefined);

  const attDigest = await attachTestAttestation(client, repo, image.digest);
  const found = await findCosignAttestations(client, repo, image.digest);
  assert.ok(found);
  assert.equal(found.tag, `sha256-${image.digest.slice('sha256:'.length)}.att`);
  assert.equal(found.manifestDigest, attDigest);
  assert.equal(found.layers.length, 1);
  const layer = found.layers[0]!;
  assert.equal(layer.mediaType, MEDIA_TYPES.dsseEnvelope);
  assert.equal(layer.annotations?.[COSIGN_ANNOTATIONS.bundle], '{}');
  const envelope = await client.getAttestationLayer(repo, layer);
  assert.equal(sha256Digest(envelope), layer.digest);
  assert.equal(JSON.parse(new TextDecoder().decode(envelope)).payloadType, 'application/vnd.in-toto+json');

  // The same envelope again is not a second layer; another one is.
  await attachTestAttestation(client, repo, image.digest);
  assert.equal((await findCosignAttestations(client, repo, image.digest))?.layers.length, 1);
  await attachTestAttestation(
    client,
    repo,
    image.digest,
    testEnvelope(image.digest, 'https://example.com/other'),
  );
  assert.equal((await findCosignAttestations(client, repo, image.digest))?.layers.length, 2);
});

test('an attestation layer over 10 MiB is refused from its descriptor size, before any request', async () => {
  const client = localRegistryClient();
  const repo = `registry/${uniqueName('cosign-big')}`;
  await assert.rejects(
    client.getAttestationLayer(repo, { digest: sha256Digest(new Uint8Array(0)), size: 10 * 1024 * 1024 + 1 }),
    (err: GateError) => err.code === 'LIMIT_EXCEEDED',
  );
});

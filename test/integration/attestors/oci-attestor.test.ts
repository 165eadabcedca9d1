/**
 * The OCI attestor against the real registry on 127.0.0.1:5000: VSAs attached to
 * dependency images as referrers (tag fallback) and as cosign `.att` attestations.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createOciAttestor, repositoryOf } from '../../../src/attestors/oci-attestor.ts';
import { resolveLevels } from '../../../src/attestors/resolve-levels.ts';
import { createVsaTrust } from '../../../src/attestors/vsa-trust.ts';
import { isGateError } from '../../../src/core/errors.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { attachCosignAttestations } from '../../../src/registry/cosign-attestations.ts';
import { localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { makeKey, signBundle, signEnvelope, vsaStatement } from '../../helpers/vsa-fixtures.ts';
import { attachReferrer } from '../../../src/registry/referrers.ts';

const VERIFIER = 'https://images.example/verifier';
const key = makeKey('images');
const forger = makeKey('images');
const trust = createVsaTrust({
  verifiers: [{ id: VERIFIER, tracks: { BUILD: 3 } }],
  signers: [{ keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] }],
});
const VSA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

before(ensureServices);

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test('image URIs name a repository on this registry only', () => {
  assert.equal(repositoryOf('oci://127.0.0.1:5000/deps/base@sha256:ab', '127.0.0.1:5000'), 'deps/base');
  assert.equal(repositoryOf('127.0.0.1:5000/deps/base:1.0', '127.0.0.1:5000'), 'deps/base');
  assert.equal(repositoryOf('oci://other.example/deps/base', '127.0.0.1:5000'), undefined);
  assert.equal(repositoryOf(undefined, '127.0.0.1:5000'), undefined);
});

test('VSAs as referrers and as cosign attestations prove build levels; forged ones are ignored', async () => {
  const client = localRegistryClient();
  const attestor = createOciAttestor({ name: 'oci', client, trust });
  const repo = `attestors/${uniqueName('deps')}`;
  const uri = `oci://${client.host}/${repo}`;
  const [a, b, c, d] = await Promise.all(
    ['a', 'b', 'c', 'd'].map((seed) => pushTestImage(client, repo, { seed })),
  );
  const vsa = (digest: string, levels: string[]) =>
    vsaStatement({
      name: uri,
      digest: { sha256: digest.slice(7) },
      resourceUri: uri,
      verifierId: VERIFIER,
      levels,
    });

  // a: a referrer whose layer is a Sigstore bundle; b: a cosign .att DSSE layer; c: forged referrer; d: nothing.
  await attachReferrer(client, repo, a!.digest, VSA_TYPE, [
    { mediaType: VSA_TYPE, bytes: enc(signBundle(vsa(a!.digest, ['SLSA_BUILD_LEVEL_3']), key)) },
  ]);
  await attachCosignAttestations(client, repo, b!.digest, [
    {
      envelope: enc(signEnvelope(vsa(b!.digest, ['SLSA_BUILD_LEVEL_2']), key)),
      annotations: { predicateType: 'https://slsa.dev/verification_summary/v1' },
    },
  ]);
  await attachReferrer(client, repo, c!.digest, VSA_TYPE, [
    { mediaType: VSA_TYPE, bytes: enc(signBundle(vsa(c!.digest, ['SLSA_BUILD_LEVEL_3']), forger)) },
  ]);

  const at = (digest: string) => ({ kind: 'artifact' as const, uri, digest: { sha256: digest.slice(7) } });
  const ra = await attestor.lookup(at(a!.digest));
  assert.deepEqual(ra.status === 'found' && [ra.levels, ra.attestations[0]!.origin.includes('#layers[0]')], [
    { build: 3 },
    true,
  ]);
  const rb = await attestor.lookup(at(b!.digest));
  assert.deepEqual(rb.status === 'found' && rb.levels, { build: 2 });
  const rc = await attestor.lookup(at(c!.digest));
  assert.equal(rc.status, 'not-found');
  assert.ok(
    rc.reasons.some((r) => r.code === 'SIGNATURE_ERROR'),
    rc.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
  assert.equal((await attestor.lookup(at(d!.digest))).status, 'not-found');
  assert.equal((await attestor.lookup(at(`sha256:${'0'.repeat(64)}`))).status, 'not-found');

  const provenance: Provenance = {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    resolvedDependencies: [a!, b!, c!, d!].map((img) => ({
      uri: `${uri}@${img.digest}`,
      digest: { sha256: img.digest.slice(7) },
    })),
    subjects: [],
  };
  // The provenance names each image with its digest; the VSAs' resourceUri is the repository.
  const r = await resolveLevels(provenance, { attestors: [attestor] });
  assert.deepEqual(r.dependencyLevels, {
    SLSA_BUILD_LEVEL_3: 1,
    SLSA_BUILD_LEVEL_2: 1,
    SLSA_BUILD_LEVEL_0: 2,
  });
  assert.deepEqual(
    r.levels.dependencies?.map((x) => [x.uri, x.level]),
    [
      [`${uri}@${a!.digest}`, 3],
      [`${uri}@${b!.digest}`, 2],
    ],
  );
});

test('a registry that does not answer is a retryable ATTESTOR_UNAVAILABLE', async () => {
  const client = localRegistryClient({ retry: { maxAttempts: 1 } }, 'http://127.0.0.1:9');
  const attestor = createOciAttestor({ name: 'oci', client, trust });
  await assert.rejects(
    attestor.lookup({
      kind: 'artifact',
      uri: `oci://${client.host}/x/y`,
      digest: { sha256: '1'.repeat(64) },
    }),
    (e) => isGateError(e) && e.code === 'ATTESTOR_UNAVAILABLE' && e.retryable,
  );
});

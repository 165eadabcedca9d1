/**
 * The Archivista adapter against the loopback store process answering Archivista's search
 * (`POST /v1/query`) and download (`GET /v1/download/<gitoid>`) endpoints. The server is
 * ours: it follows Archivista's API as read from in-toto/archivista (pkg/api, server routes).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createArchivistaAttestor, gitoidSha256 } from '../../../src/attestors/archivista.ts';
import { createVsaTrust } from '../../../src/attestors/vsa-trust.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { startAttestationServer, type AttestationServer } from '../../helpers/attestation-server-process.ts';
import { makeKey, signEnvelope, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const VERIFIER = 'https://witness.example/verifier';
const key = makeKey('witness');
const forger = makeKey('witness');
const trust = createVsaTrust({
  verifiers: [{ id: VERIFIER, tracks: { BUILD: 3 } }],
  signers: [{ keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] }],
});
const hex = (n: number) => n.toString(16).padStart(64, '0');
const uri = (n: number) => `pkg:generic/tool-${n}@1.0`;
const envelope = (n: number, signer = key) =>
  Buffer.from(
    JSON.stringify(
      signEnvelope(
        vsaStatement({
          digest: { sha256: hex(n) },
          resourceUri: uri(n),
          verifierId: VERIFIER,
          levels: ['SLSA_BUILD_LEVEL_2'],
        }),
        signer,
      ),
    ),
  );
const dep = (n: number) => ({ kind: 'purl' as const, purl: uri(n), digest: { sha256: hex(n) } });

let server: AttestationServer;
before(async () => {
  server = await startAttestationServer();
});
after(() => server.stop());

test('the gitoid of a blob is its git object id in a sha256 repository', () => {
  // `git init --object-format=sha256 r && cd r && printf hello | git hash-object --stdin`
  assert.equal(
    gitoidSha256(Buffer.from('hello')),
    '8aec4e4876f854f688d0ebfc8f37598f38e5fd6903cccc850ca36591175aeb60',
  );
});

test('envelopes found by subject digest prove levels; forged and tampered ones do not', async () => {
  const attestor = createArchivistaAttestor({ name: 'archivista', baseUrl: server.url, trust });
  server.putArchivista(`sha256:${hex(1)}`, [envelope(1)]);
  server.putArchivista(`sha256:${hex(2)}`, [envelope(2, forger)]);
  const [tampered] = server.putArchivista(`sha256:${hex(3)}`, [envelope(3)]);
  writeFileSync(join(server.dir, `archivista-${tampered}.json`), envelope(3, forger));

  const found = await attestor.lookup(dep(1));
  assert.deepEqual(
    found.status === 'found' && [found.levels, found.attestations[0]!.origin.includes('/v1/download/')],
    [{ build: 2 }, true],
  );
  const forged = await attestor.lookup(dep(2));
  assert.equal(forged.status, 'not-found');
  assert.ok(
    forged.reasons.some((r) => r.code === 'SIGNATURE_ERROR'),
    forged.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
  const swapped = await attestor.lookup(dep(3));
  assert.equal(swapped.status, 'not-found');
  assert.ok(
    swapped.reasons.some((r) => r.code === 'DIGEST_MISMATCH'),
    swapped.reasons.map((x) => JSON.stringify(x)).join('\n'),
  );
  assert.equal((await attestor.lookup(dep(4))).status, 'not-found');
});

test('Archivista down is a retryable ATTESTOR_UNAVAILABLE', async () => {
  const attestor = createArchivistaAttestor({ name: 'archivista', baseUrl: server.url, trust });
  await server.control({ mode: 'unavailable', times: 1 });
  await assert.rejects(
    attestor.lookup(dep(1)),
    (e) => isGateError(e) && e.code === 'ATTESTOR_UNAVAILABLE' && e.retryable,
  );
  assert.equal((await attestor.lookup(dep(1))).status, 'found');
});

/**
 * Seals bind one identity to one action, workflow and request (docs/security-model.md#one-credential-one-run).
 * The seals here are made with the shared key as the API makes them; each attacker variant
 * changes one thing the seal binds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { GateError } from '../../src/core/errors.ts';
import {
  openSealedIdentity,
  requestDigestOf,
  SEAL_LIFETIME_SECONDS,
  sealIdentity,
  sealRequester,
} from '../../src/core/identity-seal.ts';
import type { Identity } from '../../src/core/identity.ts';

const key = randomBytes(32);
const mallory: Identity = { kind: 'token', id: 'token:mallory', name: 'mallory' };
const workflowId = 'publish:registry.example/release/app@sha256:' + 'a'.repeat(64);
const request = {
  candidate: { registry: 'registry.example', repository: 'staging/app', digest: 'sha256:' + 'a'.repeat(64) },
  releaseRegistry: 'registry.example',
  releaseRepository: 'release/app',
  releaseTag: 'v1.0.0',
  requester: 'mallory',
  attestations: [],
};
const at = new Date('2026-05-01T10:00:00.000Z');

const refusedWith = (code: string) => (err: unknown) => err instanceof GateError && err.code === code;

test('a request seal opens for its workflow and request, within its lifetime', () => {
  const sealed = sealRequester(key, { identity: mallory, workflowId, unsealedRequest: request }, at);
  assert.match(sealed.nonce ?? '', /^[0-9a-f]{32}$/);
  const opened = openSealedIdentity(key, sealed, {
    purpose: 'request',
    workflowId,
    requestDigest: requestDigestOf(request),
    now: new Date(at.getTime() + (SEAL_LIFETIME_SECONDS - 1) * 1000),
  });
  assert.deepEqual(opened, mallory);
  // Two seals of the same request never share a nonce: each is consumed by its own run.
  const again = sealRequester(key, { identity: mallory, workflowId, unsealedRequest: request }, at);
  assert.notEqual(again.nonce, sealed.nonce);
});

test('the request digest covers every field, in any key order', () => {
  const reordered = Object.fromEntries(Object.entries(request).reverse());
  assert.equal(requestDigestOf(reordered), requestDigestOf(request));
  const variants = [
    { ...request, releaseTag: 'latest' },
    { ...request, candidate: { ...request.candidate, repository: 'staging/other' } },
    { ...request, releaseRepository: 'release/other' },
    { ...request, attestations: [{ origin: 'x', raw: 'e30=' }] },
    { ...request, requester: 'someone else' },
  ];
  for (const variant of variants) assert.notEqual(requestDigestOf(variant), requestDigestOf(request));
});

test('a seal for another request, action, workflow or run is SEAL_MISMATCH', () => {
  const sealed = sealRequester(key, { identity: mallory, workflowId, unsealedRequest: request }, at);
  // Attacker material: the genuine seal presented with a request whose tag was changed.
  const moved = requestDigestOf({ ...request, releaseTag: 'latest' });
  assert.throws(
    () => openSealedIdentity(key, sealed, { purpose: 'request', workflowId, requestDigest: moved, now: at }),
    refusedWith('SEAL_MISMATCH'),
  );
  assert.throws(
    () => openSealedIdentity(key, sealed, { purpose: 'approve', workflowId, now: at }),
    refusedWith('SEAL_MISMATCH'),
  );
  assert.throws(
    () => openSealedIdentity(key, sealed, { purpose: 'request', workflowId: `${workflowId}x`, now: at }),
    refusedWith('SEAL_MISMATCH'),
  );
  // A verdict for run 1 presented in run 2, and one naming no run or no request.
  const verdict = sealIdentity(
    key,
    {
      identity: mallory,
      purpose: 'approve',
      workflowId,
      runId: 'run-1',
      requestDigest: requestDigestOf(request),
    },
    at,
  );
  const expected = {
    purpose: 'approve' as const,
    workflowId,
    requestDigest: requestDigestOf(request),
    now: at,
  };
  assert.deepEqual(openSealedIdentity(key, verdict, { ...expected, runId: 'run-1' }), mallory);
  assert.throws(
    () => openSealedIdentity(key, verdict, { ...expected, runId: 'run-2' }),
    refusedWith('SEAL_MISMATCH'),
  );
  const unbound = sealIdentity(
    key,
    { identity: mallory, purpose: 'approve', workflowId, runId: 'run-1' },
    at,
  );
  assert.throws(
    () => openSealedIdentity(key, unbound, { ...expected, runId: 'run-1' }),
    refusedWith('SEAL_MISMATCH'),
  );
});

test('a stale, forged or edited seal is IDENTITY_UNVERIFIED', () => {
  const sealed = sealRequester(key, { identity: mallory, workflowId, unsealedRequest: request }, at);
  const expected = { purpose: 'request' as const, workflowId, requestDigest: requestDigestOf(request) };
  assert.throws(
    () =>
      openSealedIdentity(key, sealed, {
        ...expected,
        now: new Date(at.getTime() + (SEAL_LIFETIME_SECONDS + 1) * 1000),
      }),
    refusedWith('IDENTITY_UNVERIFIED'),
  );
  // Attacker material: the same fields sealed with a key of the attacker's own.
  const forged = sealRequester(
    randomBytes(32),
    { identity: mallory, workflowId, unsealedRequest: request },
    at,
  );
  assert.throws(
    () => openSealedIdentity(key, forged, { ...expected, now: at }),
    refusedWith('IDENTITY_UNVERIFIED'),
  );
  // Attacker material: the genuine seal with its issue time moved forward to look fresh.
  const refreshed = { ...sealed, issuedAt: new Date(at.getTime() + 3600_000).toISOString() };
  assert.throws(
    () => openSealedIdentity(key, refreshed, { ...expected, now: new Date(at.getTime() + 3600_000) }),
    refusedWith('IDENTITY_UNVERIFIED'),
  );
});

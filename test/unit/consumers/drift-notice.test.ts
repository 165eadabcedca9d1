/**
 * The drift notice as a receiver checks it: a CloudEvents 1.0 JSON event whose signature covers
 * exactly its bytes under the operator's secret, and the configuration that says where it goes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/config.ts';
import {
  DRIFT_EVENT_TYPE,
  driftNoticeBody,
  driftNoticeId,
  driftNoticeSignatureValid,
  signDriftNotice,
  type DriftNotice,
} from '../../../src/consumers/drift-notice.ts';
import { isGateError } from '../../../src/core/errors.ts';

const notice: DriftNotice = {
  driftId: 'reg.example/release/app|v9.9.9|sha256:' + 'a'.repeat(64) + '|unpublished-digest',
  firstSeen: '2026-01-02T03:04:05.000Z',
  repository: 'reg.example/release/app',
  tag: 'v9.9.9',
  digest: `sha256:${'a'.repeat(64)}`,
  kind: 'unpublished-digest',
  reason: 'no decision of this gate published it',
};

test('a notice is a CloudEvents 1.0 event whose id is the finding and its first sighting', () => {
  const event = JSON.parse(
    driftNoticeBody(notice, 'https://gate.example/verifier').toString('utf8'),
  ) as Record<string, unknown>;
  assert.equal(event.specversion, '1.0');
  assert.equal(event.type, DRIFT_EVENT_TYPE);
  assert.equal(event.source, 'https://gate.example/verifier');
  assert.equal(event.id, driftNoticeId(notice));
  assert.equal(event.time, notice.firstSeen);
  assert.equal(event.subject, 'reg.example/release/app:v9.9.9');
  assert.deepEqual(event.data, notice);
  // The same finding first seen at another time is another delivery.
  assert.notEqual(driftNoticeId({ ...notice, firstSeen: '2026-02-01T00:00:00.000Z' }), driftNoticeId(notice));
});

test('the signature verifies on the exact body under the secret, and on nothing else', () => {
  const secret = randomBytes(32);
  const body = driftNoticeBody(notice, 'https://gate.example/verifier');
  const signature = signDriftNotice(body, secret);
  assert.match(signature, /^sha256=[0-9a-f]{64}$/);
  assert.equal(driftNoticeSignatureValid(body, signature, secret), true);
  // Made here: what someone who can reach the receiver but lacks the secret could send.
  const edited = Buffer.from(body.toString('utf8').replace('unpublished-digest', 'no-valid-vsa'));
  assert.equal(driftNoticeSignatureValid(edited, signature, secret), false);
  assert.equal(driftNoticeSignatureValid(Buffer.concat([body, Buffer.from(' ')]), signature, secret), false);
  assert.equal(driftNoticeSignatureValid(body, signDriftNotice(body, randomBytes(32)), secret), false);
  assert.equal(driftNoticeSignatureValid(body, undefined, secret), false);
  assert.equal(driftNoticeSignatureValid(body, signature.slice(0, -1), secret), false);
});

test('the receiver URL is https, or plain http to loopback only', () => {
  const url = (value: string) => loadConfig({ SLSA_GATE_DRIFT_WEBHOOK_URL: value }).driftWebhookUrl;
  assert.equal(url('https://hooks.example/drift'), 'https://hooks.example/drift');
  assert.equal(url('http://127.0.0.1:8080/drift'), 'http://127.0.0.1:8080/drift');
  for (const bad of [
    'http://hooks.example/drift',
    'http://127.0.0.1.evil.example/',
    'ftp://hooks.example/',
    'x',
  ])
    assert.throws(
      () => url(bad),
      (err: unknown) =>
        isGateError(err) && err.code === 'CONFIG_INVALID' && /SLSA_GATE_DRIFT_WEBHOOK_URL/.test(err.message),
      bad,
    );
});

/**
 * The pull-secret reader against a loopback HTTPS server answering as the Kubernetes API
 * (core/v1 GET secrets/{name}; no cluster here): a pod spec is written by whoever may create
 * pods, and its `imagePullSecrets` list is as long as they like (an object up to the API
 * server's 1.5 MiB). Each name was read with one API call, all at once, on every review and
 * in every replica: one pod listing thousands of names had the webhook fire thousands of calls
 * at the API server with its service account, crowding out every other review's reads (and
 * the API server's fairness queue for that account). A name listed twice is read once, and a
 * list of more than 64 distinct names (docs/consumers.md#kubernetes-the-admission-webhook) is refused with a coded error before any call.
 *
 * Failing before: 1000 names (attacker material: one pod spec, names generated in a loop)
 * made 1000 calls, and `regcred` listed 50 times made 50.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import { kubernetesPullSecrets } from '../../../src/consumers/pull-secrets.ts';
import { createTestPki } from '../../helpers/test-pki.ts';

const pki = createTestPki('localhost');
const calls: string[] = [];
const regcred = {
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/dockerconfigjson',
  data: {
    '.dockerconfigjson': Buffer.from(
      JSON.stringify({ auths: { 'registry.example': { username: 'puller', password: 'pw' } } }),
    ).toString('base64'),
  },
};
const api = createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
  calls.push(req.url ?? '');
  const found = req.url === '/api/v1/namespaces/apps/secrets/regcred';
  res.writeHead(found ? 200 : 404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(found ? regcred : { kind: 'Status', code: 404 }));
});
let read: ReturnType<typeof kubernetesPullSecrets>;

before(async () => {
  await new Promise<void>((resolve) => api.listen(0, 'localhost', resolve));
  read = kubernetesPullSecrets({
    url: `https://localhost:${(api.address() as AddressInfo).port}`,
    ca: pki.caCert,
    token: () => 'token',
  });
});
after(() => api.close());

test('a name listed many times is read once, and its credentials are found', async () => {
  calls.length = 0;
  const credentials = await read(
    'apps',
    Array.from({ length: 50 }, () => 'regcred'),
  );
  assert.deepEqual(calls, ['/api/v1/namespaces/apps/secrets/regcred']);
  assert.deepEqual(await credentials('registry.example'), { username: 'puller', password: 'pw' });
});

test('more than 64 distinct pull secrets are refused before any API call', async () => {
  calls.length = 0;
  const names = Array.from({ length: 1000 }, (_, i) => `flood-${i}`);
  const refused = await read('apps', names).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isGateError(refused), `expected a coded refusal, got ${String(refused)}`);
  assert.equal(refused.code, 'INPUT_INVALID');
  assert.match(refused.message, /1000 imagePullSecrets/);
  assert.equal(calls.length, 0);
  // At the bound, every distinct name is read, once.
  const atBound = await read('apps', names.slice(0, 64));
  assert.equal(typeof atBound, 'function');
  assert.equal(calls.length, 64);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createAdmissionReviewer,
  imageReference,
  podSpecOf,
} from '../../../src/consumers/admission-webhook.ts';
import type { RegistryClient } from '../../../src/registry/client.ts';

test('container images are read as the kubelet reads them', () => {
  assert.deepEqual(imageReference('nginx'), {
    registry: 'docker.io',
    repository: 'library/nginx',
    tag: 'latest',
  });
  assert.deepEqual(imageReference('team/app:1.2'), {
    registry: 'docker.io',
    repository: 'team/app',
    tag: '1.2',
  });
  assert.deepEqual(imageReference('127.0.0.1:5000/release/app'), {
    registry: '127.0.0.1:5000',
    repository: 'release/app',
    tag: 'latest',
  });
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(imageReference(`ghcr.io/o/app@${digest}`), {
    registry: 'ghcr.io',
    repository: 'o/app',
    digest,
  });
  assert.throws(() => imageReference('ghcr.io/o/app@sha256:short'));
});

test('every workload kind yields its pod spec; other kinds are refused', () => {
  const spec = { containers: [{ name: 'c', image: 'x' }] };
  assert.equal(typeof podSpecOf('Pod', { spec }), 'object');
  assert.equal(typeof podSpecOf('StatefulSet', { spec: { template: { spec } } }), 'object');
  assert.equal(
    typeof podSpecOf('CronJob', { spec: { jobTemplate: { spec: { template: { spec } } } } }),
    'object',
  );
  assert.match(podSpecOf('ConfigMap', {}) as string, /not one this webhook checks/);
  assert.match(podSpecOf('Deployment', { spec: {} }) as string, /no pod spec/);
});

function review(image: string) {
  return {
    apiVersion: 'admission.k8s.io/v1' as const,
    kind: 'AdmissionReview' as const,
    request: {
      uid: 'u',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      object: { spec: { containers: [{ name: 'c', image }] } },
    },
  };
}

test('a review that outlasts its time budget is denied (fail closed), not left hanging', async () => {
  // A registry that never answers: the collaborator of this pure unit is a fake on purpose.
  const hanging = {
    host: 'r.example',
    resolve: () => new Promise(() => undefined),
  } as unknown as RegistryClient;
  const reviewer = createAdmissionReviewer({
    expect: { publicKeys: ['unused'], verifierId: 'v', verifiedLevels: [] },
    registry: () => hanging,
    timeoutMs: 50,
  });
  const started = Date.now();
  const reasons = await reviewer(review('r.example/app:1'));
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(reasons, ['REGISTRY_UNAVAILABLE: verification did not finish within 50 ms']);
});

test('with requireDigest, a tag alone is refused before any registry request', async () => {
  const reviewer = createAdmissionReviewer({
    expect: { publicKeys: ['unused'], verifierId: 'v', verifiedLevels: [] },
    registry: () => assert.fail('no registry request for an unpinned image'),
    requireDigest: true,
  });
  const [reason] = await reviewer(review('r.example/app:1'));
  assert.match(reason!, /MUTABLE_REF/);
});

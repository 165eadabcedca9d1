/**
 * The admission webhook over real HTTPS with AdmissionReview requests shaped as
 * kube-apiserver sends them (admission.k8s.io/v1, every request field), against an image
 * the real workflow published on the local registry.
 *
 * Failing before: there was no webhook; every workload was admitted whatever its images.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { createAdmissionServer } from '../../src/consumers/admission-webhook.ts';
import { SLSA_VSA_V1 } from '../../src/core/formats/slsa/vsa-v1.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { buildImage, pushBuiltImage } from '../../src/registry/build-image.ts';
import { attachForConsumers } from '../../src/registry/consumer-attestations.ts';
import { getReferrer, listReferrers } from '../../src/registry/referrers.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import { createTestPki, type TestPki } from '../helpers/test-pki.ts';

const SERVER_NAME = 'slsa-gate-webhook.slsa-gate.svc';
let h: PublishHarness;
let pki: TestPki;
let server: ReturnType<typeof createAdmissionServer>;
let port: number;
/** Published by the gate, by digest and by tag. */
let published: string;
let publishedTag: string;
/** Pushed straight into the release repository, with the gate's VSA lifted onto it. */
let aroundGate: string;
/** A tag in the release repository that names the image pushed around the gate. */
let movedTag: string;

before(async () => {
  h = await startPublishHarness();
  pki = createTestPki(SERVER_NAME);
  const staging = `staging/${uniqueName('admit')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  const req = requestFor(h, staging, built.digest, { tag: 'v1.0.0' });
  const result = await h.publish(req);
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  const release = req.releaseRepository;
  published = `${h.registryHost}/${release}@${built.digest}`;
  publishedTag = `${h.registryHost}/${release}:v1.0.0`;

  // Attacker material: an image built locally and pushed directly into the release
  // repository under the tag `v1.0.1` (the attacker has push access there), carrying a copy
  // of the gate's genuine VSA bundle taken from the published image's referrer.
  const planted = await pushBuiltImage(h.registry, release, buildImage({ seed: `${staging}-attacker` }), {
    tag: 'v1.0.1',
  });
  const [vsaReferrer] = (await listReferrers(h.registry, release, built.digest)).filter(
    (d) => d.annotations?.['dev.sigstore.bundle.predicateType'] === SLSA_VSA_V1,
  );
  assert.ok(vsaReferrer);
  const fetched = await getReferrer(h.registry, release, built.digest, vsaReferrer);
  const genuine = await h.registry.getAttestationLayer(release, fetched.manifest.layers[0]!);
  await attachForConsumers(h.registry, release, planted.digest, {
    bytes: genuine,
    predicateType: SLSA_VSA_V1,
  });
  aroundGate = `${h.registryHost}/${release}@${planted.digest}`;
  movedTag = `${h.registryHost}/${release}:v1.0.1`;

  server = createAdmissionServer({
    tls: { certFile: pki.files.serverCert, keyFile: pki.files.serverKey },
    expect: {
      publicKeys: [h.deps.signer.publicKeyPem],
      verifierId: h.config.verifierId,
      verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
    },
    registry: (host) => {
      assert.equal(host, h.registryHost);
      return h.registry;
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON read field by field in assertions
type Json = Record<string, any>;

/** POSTs to /validate as kube-apiserver does: TLS verified against the configured CA bundle. */
function post(body: string | object): Promise<{ status: number; json: Json }> {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: SERVER_NAME,
        ca: pki.caCert,
        method: 'POST',
        path: '/validate?timeout=10s',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Content-Length': bytes.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        );
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

const RESOURCES: Record<string, { group: string; resource: string }> = {
  Pod: { group: '', resource: 'pods' },
  Deployment: { group: 'apps', resource: 'deployments' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
};

/** An AdmissionReview for creating `object`, with every field the API server fills in. */
function review(kind: string, object: Record<string, unknown>) {
  const { group, resource } = RESOURCES[kind]!;
  const gvk = { group, version: 'v1', kind };
  const gvr = { group, version: 'v1', resource };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: (object.metadata as { name: string }).name,
      namespace: 'apps',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:apps:deployer',
        uid: randomUUID(),
        groups: ['system:serviceaccounts'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

const podSpec = (containers: string[], init: string[] = [], ephemeral: string[] = []) => ({
  containers: containers.map((image, i) => ({ name: `c${i}`, image })),
  ...(init.length ? { initContainers: init.map((image, i) => ({ name: `init${i}`, image })) } : {}),
  ...(ephemeral.length
    ? { ephemeralContainers: ephemeral.map((image, i) => ({ name: `debug${i}`, image })) }
    : {}),
});
const pod = (spec: object) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'app', namespace: 'apps' },
  spec,
});
const deployment = (spec: object) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'app', namespace: 'apps' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'a' } },
    template: { metadata: { labels: { app: 'a' } }, spec },
  },
});
const cronJob = (spec: object) => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'app', namespace: 'apps' },
  spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec } } } },
});

async function decide(body: ReturnType<typeof review>) {
  const res = await post(body);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.equal(res.json.apiVersion, 'admission.k8s.io/v1');
  assert.equal(res.json.kind, 'AdmissionReview');
  assert.equal(res.json.response.uid, body.request.uid);
  return res.json.response as { allowed: boolean; status?: { code: number; message: string } };
}

test('admits a Pod, a Deployment and a CronJob whose images the gate published (by digest and by tag)', async () => {
  assert.equal((await decide(review('Pod', pod(podSpec([published]))))).allowed, true);
  assert.equal(
    (await decide(review('Deployment', deployment(podSpec([publishedTag], [published]))))).allowed,
    true,
  );
  assert.equal((await decide(review('CronJob', cronJob(podSpec([publishedTag]))))).allowed, true);
});

test('denies an image pushed around the gate, in any container list, with the reason in status.message', async () => {
  const direct = await decide(review('Pod', pod(podSpec([aroundGate]))));
  assert.equal(direct.allowed, false);
  assert.equal(direct.status?.code, 403);
  assert.match(direct.status!.message, /containers\[c0\]/);
  assert.match(direct.status!.message, /VSA_MISMATCH/);
  assert.match(direct.status!.message, /SUBJECT_MISMATCH/);

  const init = await decide(review('Deployment', deployment(podSpec([published], [aroundGate]))));
  assert.equal(init.allowed, false);
  assert.match(init.status!.message, /initContainers\[init0\]/);
  assert.doesNotMatch(init.status!.message, /containers\[c0\]/);

  const debug = await decide(review('Pod', pod(podSpec([published], [], [aroundGate]))));
  assert.equal(debug.allowed, false);
  assert.match(debug.status!.message, /ephemeralContainers\[debug0\]/);
});

test('denies an unpinned tag that resolves to an unpublished digest, and an image not in the registry', async () => {
  const moved = await decide(review('CronJob', cronJob(podSpec([movedTag]))));
  assert.equal(moved.allowed, false);
  assert.match(moved.status!.message, new RegExp(aroundGate.split('@')[1]!));
  const missing = await decide(review('Pod', pod(podSpec([`${published.split('@')[0]}:no-such-tag`]))));
  assert.equal(missing.allowed, false);
  assert.match(missing.status!.message, /REGISTRY_ERROR/);
});

test('a malformed AdmissionReview is a coded 400, and the server keeps answering', async () => {
  for (const body of [
    'not json',
    { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
    { ...review('Pod', pod(podSpec([published]))), request: { uid: '' } },
  ]) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.error.code, 'INPUT_INVALID');
  }
  // A well-formed review of a kind the webhook does not know is denied, not admitted.
  const unknown = review('Pod', pod(podSpec([published])));
  unknown.request.kind = { group: '', version: 'v1', kind: 'ConfigMap' };
  assert.equal((await decide(unknown)).allowed, false);
  assert.equal((await decide(review('Pod', pod(podSpec([published]))))).allowed, true);
});

test('the shipped ValidatingWebhookConfiguration fails closed and covers every kind the webhook reads', () => {
  const manifest = parse(
    readFileSync(
      new URL('../../deploy/kubernetes/validating-webhook-configuration.yaml', import.meta.url),
      'utf8',
    ),
  ) as { kind: string; webhooks: Json[] };
  assert.equal(manifest.kind, 'ValidatingWebhookConfiguration');
  const [hook] = manifest.webhooks;
  assert.equal(hook!.failurePolicy, 'Fail');
  assert.deepEqual(hook!.admissionReviewVersions, ['v1']);
  assert.equal(hook!.clientConfig.service.path, '/validate');
  const resources = hook!.rules.flatMap((r: { resources: string[] }) => r.resources).sort();
  assert.deepEqual(resources, [
    'cronjobs',
    'daemonsets',
    'deployments',
    'jobs',
    'pods',
    'pods/ephemeralcontainers',
    'replicasets',
    'statefulsets',
  ]);
});

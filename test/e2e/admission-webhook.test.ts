/**
 * The admission webhook over real HTTPS with AdmissionReview requests shaped as
 * kube-apiserver sends them (admission.k8s.io/v1, every request field), against an image
 * the real workflow published on the local registry.
 *
 * Failing before: there was no webhook; every workload was admitted whatever its images.
 * Then: `--mode warn` and `audit` did not exist (a rollout could only deny); the workload's
 * imagePullSecrets were never read (a private image was denied REGISTRY_AUTH); a digest
 * revoked within the 5-minute cache window was still admitted from the registry; a renewed
 * certificate was served only after a restart.
 *
 * Fakes: the Kubernetes API server is a loopback HTTPS server answering only the core/v1
 * secret GET (there is no cluster here), and the registry that requires Basic auth is a
 * loopback proxy in front of the real registry (which runs without auth).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type Server as HttpServer,
} from 'node:http';
import { createServer as createHttpsServer, request, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import {
  createAdmissionReviewer,
  createAdmissionServer,
  webhookRegistryClients,
  type AdmissionMode,
  type AdmissionReview,
} from '../../src/consumers/admission-webhook.ts';
import { kubernetesPullSecrets } from '../../src/consumers/pull-secrets.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { staticCredentials } from '../../src/registry/credentials.ts';
import { revokeWorkflowId, type RevokeResult } from '../../src/workflows/revocation-contract.ts';
import { SLSA_VSA_V1 } from '../../src/core/formats/slsa/vsa-v1.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { buildImage, pushBuiltImage } from '../../src/registry/build-image.ts';
import { attachForConsumers } from '../../src/registry/consumer-attestations.ts';
import { getReferrer, listReferrers } from '../../src/registry/referrers.ts';
import { hasStackTrace, runCli } from '../helpers/cli-process.ts';
import { freePort, waitForOutput } from '../helpers/process-output.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { uniqueName } from '../helpers/services.ts';
import { createTestPki, type TestPki } from '../helpers/test-pki.ts';

const SERVER_NAME = 'slsa-gate-webhook.slsa-gate.svc';
let h: PublishHarness;
let pki: TestPki;
let port: number;
/** The same webhook in each rollout mode. */
const ports: Partial<Record<AdmissionMode, number>> = {};
const servers: HttpsServer[] = [];
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

  for (const mode of [undefined, 'warn', 'audit'] as const) {
    const s = createAdmissionServer({
      tls: { certFile: pki.files.serverCert, keyFile: pki.files.serverKey },
      ...(mode ? { mode } : {}),
      expect: expect(),
      registry: (host) => {
        assert.equal(host, h.registryHost);
        return h.registry;
      },
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    servers.push(s);
    ports[mode ?? 'enforce'] = (s.address() as AddressInfo).port;
  }
  port = ports.enforce!;
});

after(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  await h?.close();
});

const expect = () => ({
  publicKeys: [h.deps.signer.publicKeyPem],
  verifierId: h.config.verifierId,
  verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON read field by field in assertions
type Json = Record<string, any>;

/** POSTs to /validate as kube-apiserver does: TLS verified against the configured CA bundle. */
function post(body: string | object, to = port): Promise<{ status: number; json: Json }> {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: to,
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

async function decide(body: ReturnType<typeof review>, mode: AdmissionMode = 'enforce') {
  const res = await post(body, ports[mode]);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.equal(res.json.apiVersion, 'admission.k8s.io/v1');
  assert.equal(res.json.kind, 'AdmissionReview');
  assert.equal(res.json.response.uid, body.request.uid);
  return res.json.response as {
    allowed: boolean;
    status?: { code: number; message: string };
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
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
      new URL('../../deploy/kubernetes/webhook/base/validating-webhook-configuration.yaml', import.meta.url),
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

test('--mode warn admits an image pushed around the gate with a warning naming the coded reason; audit records it; enforce denies', async () => {
  const aroundGateReview = () => review('Pod', pod(podSpec([aroundGate])));
  const warned = await decide(aroundGateReview(), 'warn');
  assert.equal(warned.allowed, true);
  assert.equal(warned.status, undefined);
  assert.equal(warned.auditAnnotations, undefined);
  assert.equal(warned.warnings?.length, 1);
  assert.match(warned.warnings![0]!, /^slsa-gate would deny: containers\[c0\] \S+: VSA_MISMATCH: /);
  assert.ok(warned.warnings![0]!.length <= 256, 'the API server truncates longer warnings');

  const audited = await decide(aroundGateReview(), 'audit');
  assert.equal(audited.allowed, true);
  assert.equal(audited.warnings, undefined);
  assert.match(audited.auditAnnotations?.['would-deny'] ?? '', /containers\[c0\] \S+: VSA_MISMATCH: /);

  const enforced = await decide(aroundGateReview());
  assert.equal(enforced.allowed, false);
  assert.match(enforced.status!.message, /VSA_MISMATCH/);

  // A published image: nothing to warn about or record.
  for (const mode of ['warn', 'audit'] as const) {
    const clean = await decide(review('Pod', pod(podSpec([published]))), mode);
    assert.equal(clean.allowed, true);
    assert.equal(clean.warnings, undefined);
    assert.equal(clean.auditAnnotations, undefined);
  }
  // A malformed review is a 400 in every mode: the API server applies the failurePolicy.
  assert.equal((await post('not json', ports.warn)).status, 400);
});

test("registry credentials come from the workload's imagePullSecrets, read from the Kubernetes API, then from the webhook's own", async () => {
  const namespace = 'apps';
  const right = { username: 'puller', password: randomUUID() };
  const basic = (c: { username: string; password: string }) =>
    Buffer.from(`${c.username}:${c.password}`).toString('base64');
  const dockerConfigJson = (c: { username: string; password: string }) => ({
    type: 'kubernetes.io/dockerconfigjson',
    data: {
      '.dockerconfigjson': Buffer.from(
        JSON.stringify({ auths: { [h.registryHost]: { auth: basic(c) } } }),
      ).toString('base64'),
    },
  });
  const wrong = { username: 'puller', password: 'not-the-password' };
  const secrets: Record<string, { status: number; body?: object }> = {
    regcred: { status: 200, body: { apiVersion: 'v1', kind: 'Secret', ...dockerConfigJson(right) } },
    stale: { status: 200, body: { apiVersion: 'v1', kind: 'Secret', ...dockerConfigJson(wrong) } },
    // A TLS secret named as a pull secret holds no registry credentials: ignored, as the kubelet does.
    'serving-cert': {
      status: 200,
      body: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', data: { 'tls.crt': 'AA==' } },
    },
    forbidden: { status: 403, body: { kind: 'Status', code: 403, reason: 'Forbidden' } },
  };

  // The Kubernetes API server, answering the one call the webhook makes (a fake: no cluster here).
  const apiPki = createTestPki('localhost');
  const token = randomUUID();
  const apiCalls: string[] = [];
  const api = createHttpsServer({ cert: apiPki.serverCert, key: apiPki.serverKey }, (req, res) => {
    apiCalls.push(req.url ?? '');
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { kind: 'Status', code: 401 });
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !m || m[1] !== namespace) return send(404, { kind: 'Status', code: 404 });
    const found = secrets[decodeURIComponent(m[2]!)];
    if (!found) return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    send(found.status, found.body!);
  });
  await new Promise<void>((resolve) => api.listen(0, 'localhost', resolve));
  const pullSecrets = kubernetesPullSecrets({
    url: `https://localhost:${(api.address() as AddressInfo).port}`,
    ca: apiPki.caCert,
    token: () => `${token}\n`,
  });

  // The registry requires Basic auth: a loopback proxy in front of the real registry (which has none).
  const upstream = new URL(`http://${h.registryHost}`);
  const proxy: HttpServer = createHttpServer((req, res) => {
    if (req.headers.authorization !== `Basic ${basic(right)}`) {
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': 'Basic realm="slsa-gate-test"',
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  try {
    const reviewer = (own: Record<string, { username: string; password: string }>) =>
      createAdmissionReviewer({
        expect: expect(),
        pullSecrets,
        registry: webhookRegistryClients((host, credentials) => {
          assert.equal(host, h.registryHost);
          return new RegistryClient(`http://${proxyHost}`, {
            insecureHosts: [proxyHost],
            // The proxy stands in for the registry: it is asked the registry's credentials.
            credentials: () => credentials(host),
            retry: { maxAttempts: 1 },
          });
        }, staticCredentials(own)),
      });
    const podWith = (names: string[]) =>
      review(
        'Pod',
        pod({ ...podSpec([published]), imagePullSecrets: names.map((name) => ({ name })) }),
      ) as unknown as AdmissionReview;
    const none = reviewer({});

    // The workload's pull secret reaches the registry: admitted.
    assert.deepEqual(await none(podWith(['regcred'])), []);
    assert.ok(apiCalls.includes(`/api/v1/namespaces/${namespace}/secrets/regcred`));
    // No pull secret, or one that does not exist (skipped, as the kubelet skips it), or one
    // with no registry credentials, and no credentials of its own: the registry refuses.
    for (const names of [[], ['missing'], ['serving-cert']]) {
      const denied = await none(podWith(names));
      assert.equal(denied.length, 1, names.join());
      assert.match(denied[0]!, /REGISTRY_AUTH/);
    }
    // A pull secret the webhook may not read fails closed, naming the secret, never its contents.
    const forbidden = await none(podWith(['forbidden', 'regcred']));
    assert.equal(forbidden.length, 1);
    assert.match(forbidden[0]!, /REGISTRY_AUTH: Kubernetes API: secret apps\/forbidden: HTTP 403/);
    // The workload's credentials are tried before the webhook's own: stale ones are refused
    // even when the webhook's own would pass; without a pull secret the webhook's own are used.
    const withOwn = reviewer({ [h.registryHost]: right });
    assert.match((await withOwn(podWith(['stale'])))[0] ?? '', /REGISTRY_AUTH/);
    assert.deepEqual(await withOwn(podWith([])), []);
    assert.deepEqual(await withOwn(podWith(['missing'])), []);
  } finally {
    await new Promise((resolve) => api.close(resolve));
    await new Promise((resolve) => proxy.close(resolve));
  }
});

test('a renewed certificate is served from the next connection on, without a restart', async () => {
  // The layout the kubelet gives a Secret volume: tls.crt -> ..data/tls.crt, and ..data a
  // symlink to a versioned directory, swapped atomically when the Secret changes.
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-webhook-tls-'));
  const version = (name: string, material: TestPki) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'tls.crt'), material.serverCert);
    writeFileSync(join(dir, name, 'tls.key'), material.serverKey);
    symlinkSync(name, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  version('..v1', pki);
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  const s = createAdmissionServer({
    tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    expect: expect(),
    registry: () => h.registry,
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const at = (s.address() as AddressInfo).port;
  /** The certificate served to a client trusting `ca`, or the handshake's error. */
  const served = (ca: string) =>
    new Promise<string | Error>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: at, servername: SERVER_NAME, ca }, () => {
        resolve(socket.getPeerX509Certificate()!.fingerprint256);
        socket.end();
      });
      socket.on('error', resolve);
    });
  try {
    assert.equal(await served(pki.caCert), new X509Certificate(pki.serverCert).fingerprint256);
    // Renewed by another CA, so a client can tell which one it was served.
    const renewed = createTestPki(SERVER_NAME);
    version('..v2', renewed);
    assert.equal(await served(renewed.caCert), new X509Certificate(renewed.serverCert).fingerprint256);
    assert.ok((await served(pki.caCert)) instanceof Error, 'the old certificate is no longer served');
    // A renewal whose key does not match its certificate is not loaded: the last good pair stays.
    mkdirSync(join(dir, '..v3'));
    writeFileSync(join(dir, '..v3', 'tls.crt'), pki.serverCert);
    writeFileSync(join(dir, '..v3', 'tls.key'), renewed.serverKey);
    symlinkSync('..v3', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    assert.equal(await served(renewed.caCert), new X509Certificate(renewed.serverCert).fingerprint256);
  } finally {
    await new Promise((resolve) => s.close(resolve));
  }
});

test('slsa-gate webhook serve --mode=warn, as the Deployment runs it: a bad image is admitted with a warning; an unknown mode is refused', async () => {
  const vsaKey = join(mkdtempSync(join(tmpdir(), 'slsa-gate-webhook-cli-')), 'vsa-key.pub');
  writeFileSync(vsaKey, h.deps.signer.publicKeyPem);
  const at = await freePort();
  const args = (mode: string) => [
    'webhook',
    'serve',
    `--listen=127.0.0.1:${at}`,
    `--mode=${mode}`,
    `--tls-cert=${pki.files.serverCert}`,
    `--tls-key=${pki.files.serverKey}`,
    `--verifier-id=${h.config.verifierId}`,
    `--public-key=${vsaKey}`,
    '--verified-level=SLSA_BUILD_LEVEL_2',
    `--insecure-registry=${h.registryHost}`,
  ];
  const refused = await runCli(args('block'));
  assert.equal(refused.exit, 2, refused.stderr);
  assert.match(refused.stderr, /INPUT_INVALID: --mode block: expected warn, audit or enforce/);
  assert.equal(hasStackTrace(refused), false);

  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url)), ...args('warn')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await waitForOutput(child, /listening on https:\/\/\S+ \(--mode warn\)/);
    const warned = await post(review('Pod', pod(podSpec([aroundGate]))), at);
    assert.equal(warned.status, 200);
    assert.equal(warned.json.response.allowed, true);
    assert.match(
      warned.json.response.warnings[0],
      /^slsa-gate would deny: containers\[c0\] \S+: VSA_MISMATCH: /,
    );
    const clean = await post(review('Pod', pod(podSpec([published]))), at);
    assert.deepEqual(Object.keys(clean.json.response).sort(), ['allowed', 'uid']);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'close');
  }
});

test('a digest verified a moment ago is denied when the registry cannot be read: the cache never answers alone', async () => {
  // The same reviewer, first reaching the registry, then a port where nothing listens (the
  // registry down); a free port is closed by the time it is used.
  let registryDown = false;
  const closed = `127.0.0.1:${await freePort()}`;
  const down = new RegistryClient(`http://${closed}`, {
    insecureHosts: [closed],
    retry: { maxAttempts: 1 },
  });
  const reviewer = createAdmissionReviewer({
    expect: expect(),
    registry: () => (registryDown ? down : h.registry),
  });
  const podReview = review('Pod', pod(podSpec([published]))) as unknown as AdmissionReview;
  assert.deepEqual(await reviewer(podReview), []);
  registryDown = true;
  const denied = await reviewer(podReview);
  assert.equal(denied.length, 1);
  assert.match(denied[0]!, /containers\[c0\] \S+: REGISTRY_UNAVAILABLE: /);
});

// Last: it revokes the published digest the tests above admit.
test('a digest verified within the cache window is denied at its next review once the gate revokes it (registry alone)', async () => {
  // Verified and remembered: the cache window is 5 minutes.
  assert.equal((await decide(review('Pod', pod(podSpec([published]))))).allowed, true);
  // A real revocation: the revokeDigest workflow on the harness's worker attaches the gate's
  // FAILED VSA to the digest in its release repository. The webhook has no archive access.
  const digest = published.split('@')[1]!;
  const handle = await h.client.workflow.start('revokeDigest', {
    taskQueue: h.config.taskQueue,
    workflowId: revokeWorkflowId(digest),
    args: [{ digest, reason: 'built on a compromised runner', requestedBy: 'webhook operator' }],
  });
  const revoked = (await handle.result()) as RevokeResult;
  assert.equal(revoked.releases.length, 1);

  const denied = await decide(review('Pod', pod(podSpec([published]))));
  assert.equal(denied.allowed, false);
  assert.match(denied.status!.message, /REVOKED/);
  const warned = await decide(review('Pod', pod(podSpec([published]))), 'warn');
  assert.equal(warned.allowed, true);
  assert.match(warned.warnings?.[0] ?? '', /REVOKED/);
});

/**
 * deploy/kubernetes as shipped: every manifest validates against the Kubernetes API schemas
 * (kubernetes-validate, strict, installed by scripts/test.sh) for the oldest version the
 * manifests need (1.30: preStop sleep) and the newest the validator knows; the kustomization
 * lists exactly the files of the directory; and, rendered as kustomize would (every resource
 * in the kustomization's namespace), the resources fit together: each container runs a real
 * slsa-gate command with variables the code reads, probes the port its entry point listens on,
 * reads Secrets and ConfigMaps that exist with the keys it names; Services, disruption budgets
 * and the webhook registration select the pods they mean; the policy passes `policy check`.
 * The webhook (deploy/kubernetes/webhook) is a kustomization of its own the gate's includes:
 * its cert-manager objects validate against cert-manager's CRDs (scripts/policy-crds.sh
 * fetches them before the runner), and gen-certs.sh, its way without cert-manager, makes a
 * certificate the webhook serves and the API server trusts through the caBundle it writes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { readFinalStage } from '../../../scripts/image/dockerfile.ts';
import { createAdmissionServer } from '../../../src/consumers/admission-webhook.ts';
import { crdSchemaErrors } from '../../helpers/crd-schema.ts';
import { codeReadsVariable, isGateCommand } from '../../helpers/deploy-config.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = join(root, 'deploy/kubernetes');
const validator = join(root, '.tools/venv/bin/kubernetes-validate');
/** Kinds that are not Kubernetes built-ins: validated against their CRDs instead. */
const CERT_MANAGER_API = 'cert-manager.io/v1';
/** The cert-manager CRDs scripts/policy-crds.sh fetches, by kind. */
const CERT_MANAGER_CRDS: Record<string, string> = {
  Certificate: 'cert-manager-certificates-v1.21.2.yaml',
  Issuer: 'cert-manager-issuers-v1.21.2.yaml',
};
/** The errors of each cert-manager object in `file` against its CRD's schema. */
const certManagerErrors = (file: string) =>
  parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    const r = doc.toJS() as Resource;
    return crdSchemaErrors(CERT_MANAGER_CRDS[r.kind]!, r).map((e) => `${r.kind} ${r.metadata.name}: ${e}`);
  });
const CLUSTER_SCOPED = ['Namespace', 'ValidatingWebhookConfiguration', 'ClusterRole', 'ClusterRoleBinding'];

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
    };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Probe {
  httpGet: { path: string; port: string; scheme?: string };
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string } }>;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
type Deployment = Resource & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

interface Kustomization {
  namespace: string;
  resources: string[];
  images: Array<{ name: string }>;
}
const readKustomization = (at: string) =>
  parseYaml(readFileSync(join(at, 'kustomization.yaml'), 'utf8')) as Kustomization;
const kustomization = readKustomization(dir);
const isDirectory = (path: string) => statSync(path).isDirectory();

/** The manifest files a kustomization lists, through the directories it lists. */
function manifestFiles(at: string): string[] {
  return readKustomization(at).resources.flatMap((entry) =>
    isDirectory(join(at, entry)) ? manifestFiles(join(at, entry)) : [join(at, entry)],
  );
}

/**
 * The resources as kustomize renders them: each file's documents, through the directories
 * listed (kustomizations of their own), in the kustomization's namespace.
 */
function rendered(at = dir): Resource[] {
  const { namespace, resources: entries } = readKustomization(at);
  return entries.flatMap((entry) => {
    const path = join(at, entry);
    const docs = isDirectory(path)
      ? rendered(path)
      : parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as Resource);
    return docs.map((r) =>
      CLUSTER_SCOPED.includes(r.kind) ? r : { ...r, metadata: { ...r.metadata, namespace } },
    );
  });
}

const resources = rendered();
const byKind = <T extends Resource>(kind: string) => resources.filter((r) => r.kind === kind) as T[];
const deployments = byKind<Deployment>('Deployment');
const deployment = (component: string) =>
  deployments.find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component)!;

test('each kustomization lists every manifest and directory beside it, and each validates against the Kubernetes schemas or its CRD', () => {
  for (const at of [dir, join(dir, 'webhook'), join(dir, 'webhook/base')]) {
    const beside = readdirSync(at)
      .filter((f) => (f.endsWith('.yaml') && f !== 'kustomization.yaml') || isDirectory(join(at, f)))
      .sort();
    assert.deepEqual([...readKustomization(at).resources].sort(), beside, at);
  }
  const files = manifestFiles(dir);
  const isCertManager = (file: string) =>
    parseAllDocuments(readFileSync(file, 'utf8')).some(
      (d) => (d.toJS() as Resource).apiVersion === CERT_MANAGER_API,
    );
  const builtIn = files.filter((f) => !isCertManager(f));
  const custom = files.filter(isCertManager);
  assert.deepEqual(custom, [join(dir, 'webhook/cert-manager.yaml')]);
  for (const version of ['1.30.0', '1.37.0']) {
    const r = spawnSync(validator, ['-k', version, '--strict', ...builtIn], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'kubernetes-validate must be installed by scripts/test.sh');
    assert.equal(r.status, 0, `${version}: ${r.stdout}${r.stderr}`);
  }
  assert.deepEqual(certManagerErrors(custom[0]!), []);
  // The validator is not lenient: an unknown field fails it (a probe with a misspelt field).
  const bad = join(mkdtempSync(join(tmpdir(), 'slsa-gate-k8s-')), 'bad.yaml');
  writeFileSync(
    bad,
    readFileSync(join(dir, 'worker.yaml'), 'utf8').replace('periodSeconds: 20', 'periodSecond: 20'),
  );
  assert.equal(spawnSync(validator, ['-k', '1.37.0', '--strict', bad]).status, 1);
  // Nor is the CRD check: a misspelt field and a value outside an enum each fail it.
  for (const [from, to] of [
    ['isCA: true', 'isCa: true'],
    ['rotationPolicy: Always', 'rotationPolicy: Sometimes'],
  ] as const) {
    const badCustom = join(mkdtempSync(join(tmpdir(), 'slsa-gate-k8s-')), 'cert-manager.yaml');
    writeFileSync(badCustom, readFileSync(custom[0]!, 'utf8').replace(from, to));
    const errors = certManagerErrors(badCustom).join('\n');
    assert.ok(errors.includes(to.split(':')[0]!), `${to}: ${errors}`);
  }
});

test('the worker, API and webhook run real commands as non-root with probes on the ports their entry points listen on', () => {
  assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), [
    'slsa-gate-api',
    'slsa-gate-webhook',
    'slsa-gate-worker',
  ]);
  const stage = readFinalStage(join(root, 'Dockerfile'));
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    const [c] = pod.containers;
    assert.ok(c && pod.containers.length === 1);
    assert.equal(c.image, kustomization.images[0]!.name, `${d.metadata.name} runs the gate image`);
    assert.ok(isGateCommand(c.args!), `${d.metadata.name}: ${c.args!.join(' ')}`);
    assert.ok(d.spec.replicas >= 2, `${d.metadata.name} has replicas to fail over to`);
    assert.ok(pod.terminationGracePeriodSeconds! >= 30);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.runAsUser, Number(stage.user.split(':')[0]));
    assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels);
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      assert.equal(probe?.httpGet.path, '/healthz', `${d.metadata.name} probes /healthz`);
      assert.ok(c.ports!.some((p) => p.name === probe!.httpGet.port));
    }
    for (const e of c.env ?? [])
      assert.ok(codeReadsVariable(e.name), `${d.metadata.name}: ${e.name} is read`);
  }
  const port = (d: Deployment, name: string) =>
    d.spec.template.spec.containers[0]!.ports!.find((p) => p.name === name)!.containerPort;
  // Where each entry point listens, from its own arguments and environment.
  const worker = deployment('worker');
  const workerEnv = worker.spec.template.spec.containers[0]!.env!;
  const healthListen = workerEnv.find((e) => e.name === 'SLSA_GATE_HEALTH_LISTEN')!.value!;
  assert.equal(Number(healthListen.split(':')[1]), port(worker, 'health'));
  const api = deployment('api');
  const apiArgs = api.spec.template.spec.containers[0]!.args!;
  assert.equal(Number(apiArgs[apiArgs.indexOf('--port') + 1]), port(api, 'http'));
  assert.equal(apiArgs[apiArgs.indexOf('--host') + 1], '0.0.0.0');
  const webhook = deployment('webhook');
  const listen = webhook.spec.template.spec.containers[0]!.args!.find((a) => a.startsWith('--listen='))!;
  assert.equal(Number(listen.split(':').at(-1)), port(webhook, 'https'));
  assert.equal(webhook.spec.template.spec.containers[0]!.readinessProbe!.httpGet.scheme, 'HTTPS');
  // The VSA signing key reaches the workers only.
  const readsVsaKey = (d: Deployment) =>
    d.spec.template.spec.containers[0]!.env?.some((e) => e.valueFrom?.secretKeyRef?.key === 'vsa-key.pem') ??
    false;
  assert.deepEqual(
    deployments.filter(readsVsaKey).map((d) => d.metadata.name),
    ['slsa-gate-worker'],
  );
});

test('every Secret, ConfigMap and key a pod names exists; Services, budgets and the webhook registration select the pods', () => {
  const data = (kind: string, name: string) => {
    const r = resources.find((x) => x.kind === kind && x.metadata.name === name) as
      (Resource & { stringData?: Record<string, string>; data?: Record<string, string> }) | undefined;
    assert.ok(r, `${kind} ${name} exists`);
    return { ...r.data, ...r.stringData };
  };
  // A Secret of the manifests, or one cert-manager writes for a Certificate of them.
  const secretExists = (name: string) => {
    const issued = byKind<Resource & { spec: { secretName: string } }>('Certificate').some(
      (c) => c.spec.secretName === name,
    );
    if (!issued) data('Secret', name);
  };
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    for (const e of pod.containers[0]!.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) assert.ok(ref.key in data('Secret', ref.name), `${d.metadata.name}: ${ref.name}/${ref.key}`);
    }
    for (const from of pod.containers[0]!.envFrom ?? [])
      if (from.configMapRef) data('ConfigMap', from.configMapRef.name);
    for (const v of pod.volumes ?? []) {
      if (v.secret) secretExists(v.secret.secretName);
      if (v.configMap) data('ConfigMap', v.configMap.name);
    }
    const mounted = new Set(pod.containers[0]!.volumeMounts!.map((m) => m.name));
    assert.deepEqual(new Set((pod.volumes ?? []).map((v) => v.name)), mounted);
  }
  for (const r of resources)
    if (!CLUSTER_SCOPED.includes(r.kind))
      assert.equal(r.metadata.namespace, 'slsa-gate', `${r.kind} ${r.metadata.name}`);

  const selects = (selector: Record<string, string>, component: string) => {
    const labels = deployment(component).spec.template.metadata.labels;
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  };
  const services = byKind<
    Resource & {
      spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> };
    }
  >('Service');
  const service = (name: string) => services.find((s) => s.metadata.name === name)!;
  assert.ok(selects(service('slsa-gate-api').spec.selector, 'api'));
  assert.ok(selects(service('slsa-gate-webhook').spec.selector, 'webhook'));
  const budgets = byKind<
    Resource & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }
  >('PodDisruptionBudget');
  for (const component of ['worker', 'api', 'webhook'])
    assert.ok(
      budgets.some((b) => b.spec.minAvailable >= 1 && selects(b.spec.selector.matchLabels, component)),
      `a disruption budget keeps a ${component}`,
    );
  // The registration calls the webhook's Service, on the Service's port, in the gate's namespace.
  const [registration] = byKind<
    Resource & {
      webhooks: Array<{
        clientConfig: { service: { name: string; namespace: string; port: number; path: string } };
      }>;
    }
  >('ValidatingWebhookConfiguration');
  const target = registration!.webhooks[0]!.clientConfig.service;
  assert.equal(target.namespace, kustomization.namespace);
  assert.equal(target.path, '/validate');
  assert.equal(service(target.name).spec.ports[0]!.port, target.port);
  // Default deny in the namespace, then one policy per component.
  const policies = byKind<
    Resource & { spec: { podSelector: Record<string, unknown>; policyTypes: string[] } }
  >('NetworkPolicy');
  assert.ok(
    policies.some(
      (p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.join() === 'Ingress,Egress',
    ),
  );
});

test('the policy and trust map in the ConfigMap pass slsa-gate policy check', () => {
  const configMap = resources.find(
    (r) => r.kind === 'ConfigMap' && r.metadata.name === 'slsa-gate-policy',
  ) as Resource & {
    data: Record<string, string>;
  };
  const work = mkdtempSync(join(tmpdir(), 'slsa-gate-k8s-policy-'));
  for (const [name, text] of Object.entries(configMap.data)) writeFileSync(join(work, name), text);
  const env = deployment('worker').spec.template.spec.containers[0]!.env!;
  const file = (variable: string) =>
    join(work, env.find((e) => e.name === variable)!.value!.replace('/etc/slsa-gate/', ''));
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'bin/slsa-gate.js'),
      'policy',
      'check',
      file('SLSA_GATE_POLICY'),
      '--trust-map',
      file('SLSA_GATE_TRUST_MAP'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

type Registration = Resource & {
  metadata: { annotations?: Record<string, string> };
  webhooks: Array<{
    failurePolicy: string;
    clientConfig: { service: { name: string; namespace: string; port: number }; caBundle?: string };
    namespaceSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> };
  }>;
};
type Certificate = Resource & {
  spec: {
    secretName: string;
    isCA?: boolean;
    dnsNames?: string[];
    issuerRef: { name: string; kind: string };
  };
};

test('the webhook enforces with failurePolicy Fail, exempts its own namespace and kube-system, reads only Secrets by name, and gets its certificate from cert-manager', () => {
  const webhook = deployment('webhook');
  const pod = webhook.spec.template.spec;
  const c = pod.containers[0]! as Container & {
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  };
  assert.ok(c.args!.includes('--mode=enforce') && c.args!.includes('--pull-secrets'), c.args!.join(' '));
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);

  const [registration] = byKind<Registration>('ValidatingWebhookConfiguration');
  const [hook] = registration!.webhooks;
  assert.equal(hook!.failurePolicy, 'Fail');
  const exempt = hook!.namespaceSelector.matchExpressions.find(
    (e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
  );
  assert.ok(exempt?.values.includes('kube-system') && exempt.values.includes(kustomization.namespace));
  // The Service answers on 443 and sends it to the container's 8443.
  const service = byKind<Resource & { spec: { ports: Array<{ port: number; targetPort: string }> } }>(
    'Service',
  ).find((s) => s.metadata.name === hook!.clientConfig.service.name)!;
  assert.equal(service.spec.ports[0]!.port, 443);
  assert.equal(c.ports!.find((p) => p.name === service.spec.ports[0]!.targetPort)!.containerPort, 8443);

  // Only the webhook's pods carry a token, and its account may only get Secrets.
  for (const d of deployments) {
    const spec = d.spec.template.spec;
    assert.equal(spec.automountServiceAccountToken, d === webhook, d.metadata.name);
    assert.ok(byKind('ServiceAccount').some((a) => a.metadata.name === spec.serviceAccountName));
  }
  type Binding = Resource & {
    roleRef: { kind: string; name: string };
    subjects: Array<{ kind: string; name: string; namespace: string }>;
  };
  const bindings = [...byKind<Binding>('ClusterRoleBinding'), ...byKind<Binding>('RoleBinding')];
  const roles = [...byKind('ClusterRole'), ...byKind('Role')] as Array<Resource & { rules: unknown[] }>;
  const granted = bindings
    .filter((b) =>
      b.subjects.some(
        (s) =>
          s.kind === 'ServiceAccount' &&
          s.name === pod.serviceAccountName &&
          s.namespace === kustomization.namespace,
      ),
    )
    .flatMap(
      (b) => roles.find((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name)!.rules,
    );
  assert.deepEqual(granted, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  assert.equal(bindings.length, 1, 'no other account is bound to anything');

  // The certificate the pods mount names the Service the registration calls; its CA is what
  // the annotation tells cert-manager's injector to write into caBundle.
  const certificates = byKind<Certificate>('Certificate');
  const tlsVolume = pod.volumes!.find((v) => v.name === 'tls')!.secret!.secretName;
  const serving = certificates.find((x) => x.spec.secretName === tlsVolume)!;
  const target = hook!.clientConfig.service;
  assert.ok(serving.spec.dnsNames!.includes(`${target.name}.${target.namespace}.svc`));
  assert.equal(
    registration!.metadata.annotations?.['cert-manager.io/inject-ca-from'],
    `${serving.metadata.namespace}/${serving.metadata.name}`,
  );
  assert.equal(hook!.clientConfig.caBundle, undefined, 'the injector fills caBundle');
  const issuers = byKind<Resource & { spec: { ca?: { secretName: string }; selfSigned?: object } }>('Issuer');
  const issuerOf = (cert: Certificate) => issuers.find((i) => i.metadata.name === cert.spec.issuerRef.name)!;
  const ca = certificates.find((x) => x.spec.secretName === issuerOf(serving).spec.ca?.secretName)!;
  assert.equal(ca.spec.isCA, true);
  assert.ok(issuerOf(ca).spec.selfSigned);
});

test('gen-certs.sh makes a certificate the webhook serves and the API server trusts through the caBundle it writes', async () => {
  const out = mkdtempSync(join(tmpdir(), 'slsa-gate-gen-certs-'));
  const made = spawnSync('bash', [join(dir, 'webhook/gen-certs.sh'), out, '--days', '30'], {
    encoding: 'utf8',
  });
  assert.equal(made.status, 0, made.stderr);
  const overlay = parseYaml(readFileSync(join(out, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
    patches: Array<{ target: { kind: string; name: string }; patch: string }>;
  };
  assert.equal(realpathSync(join(out, overlay.resources[0]!)), realpathSync(join(dir, 'webhook/base')));
  assert.equal(overlay.resources[1], 'tls-secret.yaml');
  const secret = parseYaml(readFileSync(join(out, 'tls-secret.yaml'), 'utf8')) as Resource & {
    type: string;
    data: Record<string, string>;
  };
  const pod = deployment('webhook').spec.template.spec;
  assert.equal(secret.metadata.name, pod.volumes!.find((v) => v.name === 'tls')!.secret!.secretName);
  assert.equal(secret.type, 'kubernetes.io/tls');

  // The registration with the overlay's patch applied (RFC 6902, the two operations it holds).
  const registration = parseYaml(
    readFileSync(join(dir, 'webhook/base/validating-webhook-configuration.yaml'), 'utf8'),
  ) as Registration;
  const [patch] = overlay.patches;
  assert.equal(patch!.target.kind, registration.kind);
  assert.equal(patch!.target.name, registration.metadata.name);
  const ops = parseYaml(patch!.patch) as Array<{ op: string; path: string; value?: string }>;
  assert.deepEqual(
    ops.map((o) => `${o.op} ${o.path}`),
    ['add /webhooks/0/clientConfig/caBundle', 'remove /metadata/annotations/cert-manager.io~1inject-ca-from'],
  );
  registration.webhooks[0]!.clientConfig.caBundle = ops[0]!.value!;
  delete registration.metadata.annotations!['cert-manager.io/inject-ca-from'];
  const patched = join(out, 'registration.yaml');
  writeFileSync(patched, JSON.stringify(registration));
  const valid = spawnSync(validator, ['-k', '1.37.0', '--strict', patched, join(out, 'tls-secret.yaml')], {
    encoding: 'utf8',
  });
  assert.equal(valid.status, 0, valid.stdout + valid.stderr);

  // What the API server does: call the Service's DNS name, trusting only caBundle.
  const caBundle = Buffer.from(ops[0]!.value!, 'base64').toString('utf8');
  const target = registration.webhooks[0]!.clientConfig.service;
  const serverName = `${target.name}.${target.namespace}.svc`;
  const cert = new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
  assert.ok(cert.verify(new X509Certificate(caBundle).publicKey));
  assert.equal(cert.checkHost(serverName), serverName);
  assert.equal(cert.ca, false);
  const server = createAdmissionServer({
    tls: { certFile: join(out, 'tls.crt'), keyFile: join(out, 'tls.key') },
    expect: { publicKeys: [], verifierId: 'unused', verifiedLevels: [] },
    registry: () => assert.fail('a health check reads no registry'),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          servername: serverName,
          ca: caBundle,
          path: '/healthz',
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

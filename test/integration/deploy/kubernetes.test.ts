/**
 * deploy/kubernetes as shipped: every manifest validates against the Kubernetes API schemas
 * (kubernetes-validate, strict, installed by scripts/test.sh) for the oldest version the
 * manifests need (1.30: preStop sleep) and the newest the validator knows; the kustomization
 * lists exactly the files of the directory; and, rendered as kustomize would (every resource
 * in the kustomization's namespace), the resources fit together: each container runs a real
 * slsa-gate command with variables the code reads, probes the port its entry point listens on,
 * reads Secrets and ConfigMaps that exist with the keys it names; Services, disruption budgets
 * and the webhook registration select the pods they mean; the policy passes `policy check`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { readFinalStage } from '../../../scripts/image/dockerfile.ts';
import { codeReadsVariable, isGateCommand } from '../../helpers/deploy-config.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = join(root, 'deploy/kubernetes');
const validator = join(root, '.tools/venv/bin/kubernetes-validate');

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
}
type Deployment = Resource & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
  namespace: string;
  resources: string[];
  images: Array<{ name: string }>;
};

/** The resources as kustomize renders them: each file's documents, in the kustomization's namespace. */
function rendered(): Resource[] {
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
      const r = doc.toJS() as Resource;
      const clusterScoped = ['Namespace', 'ValidatingWebhookConfiguration'].includes(r.kind);
      return clusterScoped ? r : { ...r, metadata: { ...r.metadata, namespace: kustomization.namespace } };
    }),
  );
}

const resources = rendered();
const byKind = <T extends Resource>(kind: string) => resources.filter((r) => r.kind === kind) as T[];
const deployments = byKind<Deployment>('Deployment');
const deployment = (component: string) =>
  deployments.find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component)!;

test('the kustomization lists every manifest of deploy/kubernetes, and each validates against the Kubernetes schemas', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();
  assert.deepEqual([...kustomization.resources].sort(), files);
  for (const version of ['1.30.0', '1.37.0']) {
    const r = spawnSync(validator, ['-k', version, '--strict', ...files.map((f) => join(dir, f))], {
      encoding: 'utf8',
    });
    assert.equal(r.error, undefined, 'kubernetes-validate must be installed by scripts/test.sh');
    assert.equal(r.status, 0, `${version}: ${r.stdout}${r.stderr}`);
  }
  // The validator is not lenient: an unknown field fails it (a probe with a misspelt field).
  const bad = join(mkdtempSync(join(tmpdir(), 'slsa-gate-k8s-')), 'bad.yaml');
  writeFileSync(
    bad,
    readFileSync(join(dir, 'worker.yaml'), 'utf8').replace('periodSeconds: 20', 'periodSecond: 20'),
  );
  assert.equal(spawnSync(validator, ['-k', '1.37.0', '--strict', bad]).status, 1);
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
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    for (const e of pod.containers[0]!.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) assert.ok(ref.key in data('Secret', ref.name), `${d.metadata.name}: ${ref.name}/${ref.key}`);
    }
    for (const from of pod.containers[0]!.envFrom ?? [])
      if (from.configMapRef) data('ConfigMap', from.configMapRef.name);
    for (const v of pod.volumes ?? []) {
      if (v.secret) data('Secret', v.secret.secretName);
      if (v.configMap) data('ConfigMap', v.configMap.name);
    }
    const mounted = new Set(pod.containers[0]!.volumeMounts!.map((m) => m.name));
    assert.deepEqual(new Set((pod.volumes ?? []).map((v) => v.name)), mounted);
  }
  for (const r of resources)
    if (!['Namespace', 'ValidatingWebhookConfiguration'].includes(r.kind))
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

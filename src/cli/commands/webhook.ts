import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import type { AdmissionMode } from '../../consumers/admission-webhook.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate webhook serve --tls-cert FILE --tls-key FILE --verifier-id ID --public-key FILE...
         [--listen HOST:PORT] [--mode warn|audit|enforce] [--verified-level L]... [--require-digest]
         [--timeout-ms N] [--pull-secrets] [--insecure-registry HOST:PORT]...
         [--mirror MIRROR_PREFIX=RELEASE_PREFIX]... [--mongodb-uri URI [--db NAME]]

A Kubernetes ValidatingAdmissionWebhook (POST /validate, admission.k8s.io/v1 AdmissionReview
over HTTPS; GET /healthz). It admits Pods, Deployments, ReplicaSets, StatefulSets, DaemonSets,
Jobs and CronJobs only if every container, init container and ephemeral container image has a
VSA from the gate (as slsa-gate verify-image checks it, resource oci://<registry>/<repository>
of the image, or of the release repository it mirrors: SLSA_GATE_MIRRORS and each --mirror,
docs/consumers.md#mirrors). The manifests are deploy/kubernetes/webhook/ (docs/operations.md#kubernetes);
namespace exemptions are its namespaceSelector (docs/consumers.md).

--mode says what a workload that fails the check gets (docs/consumers.md#rolling-out-the-webhook):
  warn     admitted, with a warning naming the coded reason (kubectl prints it)
  audit    admitted, the reason recorded in the API server's audit log (auditAnnotations)
  enforce  denied (the default)

Default listen address 0.0.0.0:8443; --timeout-ms (default 8000) bounds each review, after
which the review fails. The TLS files are read again when they change (a renewed
certificate is served without a restart). A verified digest is remembered for 5 minutes
while what is attached to it stays the same; a revocation attaches the gate's FAILED VSA, so
the next review denies it. With --mongodb-uri (and --db, else SLSA_GATE_DB) the gate's
archive is asked on every review too.

Registry credentials: with --pull-secrets, the workload's imagePullSecrets, read from the
Kubernetes API with the pod's service account (in-cluster only); then the webhook's own
(Docker config.json, SLSA_GATE_REGISTRY_HOST/USERNAME/PASSWORD).`;

const OPTIONS = {
  listen: { type: 'string', default: '0.0.0.0:8443' },
  mode: { type: 'string', default: 'enforce' },
  'pull-secrets': { type: 'boolean', default: false },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'verifier-id': { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  'verified-level': { type: 'string', multiple: true },
  'require-digest': { type: 'boolean', default: false },
  'timeout-ms': { type: 'string' },
  'insecure-registry': { type: 'string', multiple: true },
  mirror: { type: 'string', multiple: true },
  'mongodb-uri': { type: 'string' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(message: string): never {
  throw new GateError('INPUT_INVALID', `${message}\n\n${USAGE}`);
}

export const webhookServeCommand: Command = {
  async run(args) {
    const { values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    for (const flag of ['tls-cert', 'tls-key', 'verifier-id'] as const) {
      if (values[flag] === undefined) usageError(`--${flag} is required`);
    }
    const keyFiles = values['public-key'] ?? [];
    if (keyFiles.length === 0) usageError('--public-key is required');
    const listen = /^(.+):(\d{1,5})$/.exec(values.listen);
    if (!listen) usageError(`--listen ${values.listen}: expected HOST:PORT`);
    const mode = values.mode as AdmissionMode;
    if (!['warn', 'audit', 'enforce'].includes(mode))
      usageError(`--mode ${values.mode}: expected warn, audit or enforce`);
    const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= 30_000))
      usageError('--timeout-ms must be an integer from 1 to 30000');

    const [
      { RegistryClient },
      credentials,
      { dockerConfigCredentials },
      { readPublicKeyFile },
      webhook,
      { connectRevocationCheck },
      { inClusterApi, kubernetesPullSecrets },
      { loadMirrorMap },
      { loadRegistrySettings },
    ] = await Promise.all([
      import('../../registry/client.ts'),
      import('../../registry/credentials.ts'),
      import('../../registry/docker-credentials.ts'),
      import('../../loaders/trust-material-files.ts'),
      import('../../consumers/admission-webhook.ts'),
      import('../../consumers/archive-revocation.ts'),
      import('../../consumers/pull-secrets.ts'),
      import('../../consumers/mirror-map.ts'),
      import('../../config/config.ts'),
    ]);
    // Plain http as every command reaches registries (SLSA_GATE_INSECURE_REGISTRIES), plus --insecure-registry.
    const insecureHosts = [
      ...loadRegistrySettings().insecureRegistries,
      ...(values['insecure-registry'] ?? []),
    ];
    const mirrors = loadMirrorMap(process.env, values.mirror ?? []);
    const own = credentials.firstCredentials(dockerConfigCredentials(), credentials.envCredentials());
    const registry = webhook.webhookRegistryClients(
      (host, provider) =>
        RegistryClient.forHost(host, {
          insecureHosts,
          credentials: provider,
          timeoutMs: timeoutMs ?? 8000,
          retry: { maxAttempts: 1 },
        }),
      own,
    );
    const pullSecrets = values['pull-secrets'] ? kubernetesPullSecrets(inClusterApi()) : undefined;
    const archive = await connectRevocationCheck({ mongoUri: values['mongodb-uri'], database: values.db });
    const server = webhook.createAdmissionServer({
      tls: { certFile: values['tls-cert']!, keyFile: values['tls-key']! },
      mode,
      expect: {
        publicKeys: keyFiles.map((f) => readPublicKeyFile(f, '--public-key')),
        verifierId: values['verifier-id']!,
        verifiedLevels: values['verified-level'] ?? [],
      },
      registry,
      ...(pullSecrets ? { pullSecrets } : {}),
      requireDigest: values['require-digest'],
      mirrors,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(archive ? { isRevoked: archive.isRevoked } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(listen[2]), listen[1], () => resolve());
    });
    console.log(`slsa-gate webhook: listening on https://${values.listen}/validate (--mode ${mode})`);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.once(signal, () => server.close(() => resolve()));
    });
    await archive?.close();
    return 0;
  },
};

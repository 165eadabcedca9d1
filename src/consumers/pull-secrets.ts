/**
 * The registry credentials a workload names: its pod spec's `imagePullSecrets`, read from the
 * Kubernetes API (core/v1 `GET /api/v1/namespaces/{namespace}/secrets/{name}`) with the
 * webhook's service account, as the kubelet reads them to pull.
 *
 * A pull secret is written by the workload's owner: only its `auths` entries are read, never
 * a credential helper or store it names (the webhook would run a program the workload chose),
 * and no error quotes its contents. A secret that does not exist is skipped, as the kubelet
 * skips it; any other answer (forbidden, unreachable, not a pull secret's shape) is a coded
 * error, so the review fails closed rather than checking with credentials it was not given.
 */
import { request } from 'node:https';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { KEY_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import type { CredentialsProvider } from '../registry/credentials.ts';
import { authEntrySchema, credentialsFromAuths } from '../registry/docker-credentials.ts';

/** Reads the named pull secrets of `namespace`: a provider of their credentials by registry host. */
export type PullSecretsReader = (namespace: string, names: string[]) => Promise<CredentialsProvider>;

/** Where the Kubernetes API is and how the webhook authenticates to it. */
export interface KubernetesApi {
  /** `https://host:port`. */
  url: string;
  /** PEM CA bundle the API server's certificate chains to. */
  ca: string;
  /** The service account token, read on each call: projected tokens are rotated in place. */
  token: () => string;
}

// Kubernetes: pkg/apis/core/types.go (SecretTypeDockerConfigJson, SecretTypeDockercfg).
const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
const DOCKERCFG = 'kubernetes.io/dockercfg';

// core/v1 Secret: an upstream format, unknown fields kept; `data` values are base64.
const SecretSchema = z.looseObject({
  type: z.string().optional(),
  data: z.record(z.string(), z.string()).optional(),
});
const DockerConfigJsonSchema = z.looseObject({ auths: z.record(z.string(), authEntrySchema) });
const DockercfgSchema = z.record(z.string(), authEntrySchema);

/** A Secret is at most 1 MiB of data (API server limit); its JSON, base64 and metadata fit in 2 MiB. */
const MAX_SECRET_RESPONSE_BYTES = 2 << 20;

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The API as a pod sees it: KUBERNETES_SERVICE_HOST/PORT and the mounted service account token and CA. */
export function inClusterApi(env: NodeJS.ProcessEnv = process.env): KubernetesApi {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) {
    throw new GateError(
      'CONFIG_INVALID',
      '--pull-secrets reads the Kubernetes API from inside a pod: KUBERNETES_SERVICE_HOST is not set',
    );
  }
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ca = readConfigText(`${SERVICE_ACCOUNT_DIR}/ca.crt`, 1 << 20, 'service account CA');
  return {
    url,
    ca,
    token: () =>
      readConfigText(`${SERVICE_ACCOUNT_DIR}/token`, KEY_FILE_LIMIT_BYTES, 'service account token'),
  };
}

function getSecret(
  api: KubernetesApi,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<{ status: number; body: Buffer }> {
  const url = new URL(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
    api.url,
  );
  const where = `Kubernetes API: secret ${namespace}/${name}`;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: api.ca,
        method: 'GET',
        headers: { Authorization: `Bearer ${api.token().trim()}`, Accept: 'application/json' },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_SECRET_RESPONSE_BYTES) {
            req.destroy();
            reject(
              new GateError('REGISTRY_AUTH', `${where}: answer over ${MAX_SECRET_RESPONSE_BYTES} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (cause) =>
      reject(new GateError('REGISTRY_AUTH', `${where}: ${cause.message}`, { cause })),
    );
    req.end();
  });
}

/** The `auths` of one pull secret's JSON, or a coded error that names the secret only. */
function authsOf(secret: z.infer<typeof SecretSchema>, where: string) {
  const decode = (key: string) => {
    const value = secret.data?.[key];
    if (value === undefined) throw new GateError('REGISTRY_AUTH', `${where}: has no ${key}`);
    try {
      return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown;
    } catch {
      throw new GateError('REGISTRY_AUTH', `${where}: ${key} is not base64 of JSON`);
    }
  };
  if (secret.type === DOCKER_CONFIG_JSON) {
    const parsed = DockerConfigJsonSchema.safeParse(decode('.dockerconfigjson'));
    if (!parsed.success) throw new GateError('REGISTRY_AUTH', `${where}: .dockerconfigjson has no auths map`);
    return parsed.data.auths;
  }
  if (secret.type === DOCKERCFG) {
    const parsed = DockercfgSchema.safeParse(decode('.dockercfg'));
    if (!parsed.success)
      throw new GateError('REGISTRY_AUTH', `${where}: .dockercfg is not a map of registries`);
    return parsed.data;
  }
  // The kubelet uses only these two types for pulling; any other secret carries no credentials.
  return undefined;
}

/**
 * Distinct pull secrets one workload may name. Whoever creates a pod writes its list, and each
 * name costs an API call with the webhook's service account on every review: a pod naming
 * thousands would have the webhook flood the API server and starve every other review's reads.
 * Real workloads name a few (their own and their service account's).
 */
export const MAX_PULL_SECRETS = 64;

/** Reads pull secrets through `api`; each review reads them again, so a rotated secret counts at once. */
export function kubernetesPullSecrets(
  api: KubernetesApi,
  opts: { timeoutMs?: number } = {},
): PullSecretsReader {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return async (namespace, listed) => {
    // A name listed twice is one secret (the first listing keeps its place in the order).
    const names = [...new Set(listed)];
    if (names.length > MAX_PULL_SECRETS) {
      throw new GateError(
        'INPUT_INVALID',
        `the workload names ${names.length} imagePullSecrets; at most ${MAX_PULL_SECRETS} are read`,
      );
    }
    const maps = await Promise.all(
      names.map(async (name) => {
        const where = `Kubernetes API: secret ${namespace}/${name}`;
        const { status, body } = await getSecret(api, namespace, name, timeoutMs);
        if (status === 404) return undefined;
        if (status !== 200) throw new GateError('REGISTRY_AUTH', `${where}: HTTP ${status}`);
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          throw new GateError('REGISTRY_AUTH', `${where}: the answer is not JSON`);
        }
        const secret = SecretSchema.safeParse(json);
        if (!secret.success) throw new GateError('REGISTRY_AUTH', `${where}: not a core/v1 Secret`);
        return { auths: authsOf(secret.data, where), where };
      }),
    );
    // In the order the pod lists them: the first secret with an entry for the host is used.
    return (host) => {
      for (const map of maps) {
        const found = map?.auths && credentialsFromAuths(map.auths, host, map.where);
        if (found) return Promise.resolve(found);
      }
      return Promise.resolve(undefined);
    };
  };
}

/**
 * A Kubernetes ValidatingAdmissionWebhook (admission.k8s.io/v1 AdmissionReview over HTTPS):
 * a Pod, or a workload through its pod template, is admitted only if every container, init
 * container and ephemeral container image is pinned to a digest, or a tag that resolves to
 * one, carrying a VSA from the gate that `verifyPublishedImage` accepts.
 *
 * Fails closed: an image that cannot be resolved or verified in time, an unknown kind, a
 * missing image: denied with the coded reason in `status.message`. A request that is not an
 * AdmissionReview is answered 400 with a coded error, never a crash.
 *
 * Rolled out in three modes (docs/consumers.md#rolling-out-the-webhook): `warn` admits and
 * returns the reasons as `warnings` (shown to kubectl users), `audit` admits and records them
 * as an `auditAnnotations` entry (the API server's audit log), `enforce` denies.
 */
import { statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureContext } from 'node:tls';
import * as z from 'zod';
import { GateError, isGateError } from '../core/errors.ts';
import {
  CERTIFICATE_FILE_LIMIT_BYTES,
  KEY_FILE_LIMIT_BYTES,
  readConfigText,
} from '../loaders/read-file-capped.ts';
import type { RegistryClient } from '../registry/client.ts';
import { firstCredentials, type CredentialsProvider } from '../registry/credentials.ts';
import { parseReference } from '../registry/reference.ts';
import { expectedResourceUri, type MirrorMap } from './mirror-map.ts';
import {
  attachmentsFingerprint,
  verifyPublishedImage,
  type PublishedVsaExpectation,
  type VsaRevocationCheck,
} from './published-vsa.ts';
import type { PullSecretsReader } from './pull-secrets.ts';

// Kubernetes API (admission/v1 AdmissionReview; core/v1 PodSpec): upstream formats, unknown fields kept.
const ContainerSchema = z.looseObject({ name: z.string(), image: z.string().optional() });
const PodSpecSchema = z.looseObject({
  containers: z.array(ContainerSchema).default([]),
  imagePullSecrets: z.array(z.looseObject({ name: z.string().optional() })).optional(),
  initContainers: z.array(ContainerSchema).optional(),
  ephemeralContainers: z.array(ContainerSchema).optional(),
});
type PodSpec = z.infer<typeof PodSpecSchema>;

export const AdmissionReviewSchema = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: z.looseObject({
    uid: z.string().min(1),
    kind: z.looseObject({ group: z.string(), version: z.string(), kind: z.string() }),
    namespace: z.string().optional(),
    operation: z.string(),
    object: z.unknown().optional(),
  }),
});
export type AdmissionReview = z.infer<typeof AdmissionReviewSchema>;

/** Where each kind keeps its pod spec. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** What the webhook does with a workload it would deny (docs/consumers.md#rolling-out-the-webhook). */
export type AdmissionMode = 'warn' | 'audit' | 'enforce';

/** Options of the webhook. */
export interface AdmissionOptions {
  expect: Omit<PublishedVsaExpectation, 'resourceUri'>;
  /**
   * A client for a registry host (`host[:port]`); `workload` is the credentials of the
   * workload's pull secrets, to be tried before the webhook's own.
   */
  registry: (host: string, workload?: CredentialsProvider) => RegistryClient;
  /** Reads the workload's `imagePullSecrets` (src/consumers/pull-secrets.ts); without it only the webhook's own credentials are used. */
  pullSecrets?: PullSecretsReader;
  /** Refuse images named by tag alone (a tag can move between admission and the kubelet's pull). */
  requireDigest?: boolean;
  /** Per-request time budget; past it the request is denied (default 8 s, under the API server's 10 s default). */
  timeoutMs?: number;
  /**
   * How long a verified digest is remembered (default 5 minutes). A remembered verdict holds
   * only while the digest's attachments are unchanged (read on every review): a revocation
   * attaches a FAILED VSA, so it is seen at the next review.
   */
  cacheTtlMs?: number;
  /** Mirror prefix → release prefix: a mirrored image is checked against its release repository's VSA. */
  mirrors?: MirrorMap;
  /** The gate's archive, when the webhook may read it: a revoked digest is denied at once. */
  isRevoked?: VsaRevocationCheck;
  now?: () => number;
}

/**
 * The webhook's registry clients: one per host with its own credentials, kept across
 * reviews; with a workload's pull-secret credentials, a client for that review that tries
 * them before the webhook's own.
 */
export function webhookRegistryClients(
  connect: (host: string, credentials: CredentialsProvider) => RegistryClient,
  own: CredentialsProvider,
): AdmissionOptions['registry'] {
  const clients = new Map<string, RegistryClient>();
  return (host, workload) => {
    if (workload) return connect(host, firstCredentials(workload, own));
    let client = clients.get(host);
    if (!client) {
      client = connect(host, own);
      clients.set(host, client);
    }
    return client;
  };
}

/** The images of a pod spec, with the field each one is in. */
export function podImages(spec: PodSpec): Array<{ field: string; image: string | undefined }> {
  const out: Array<{ field: string; image: string | undefined }> = [];
  for (const field of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    for (const c of spec[field] ?? []) out.push({ field: `${field}[${c.name}]`, image: c.image });
  }
  return out;
}

/** The pod spec of an admitted object, or a reason it has none we can check. */
export function podSpecOf(kind: string, object: unknown): PodSpec | string {
  const path = POD_SPEC_PATHS[kind];
  if (path === undefined) return `kind ${kind} is not one this webhook checks`;
  let node: unknown = object;
  for (const key of path) {
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  }
  const spec = PodSpecSchema.safeParse(node);
  return spec.success ? spec.data : `${kind} has no pod spec at .${path.join('.')}`;
}

/**
 * A container image as the kubelet reads it: `name` alone is `docker.io/library/name`, a
 * first component without `.` or `:` (and not `localhost`) is a Docker Hub namespace, and a
 * missing tag is `latest`.
 */
export function imageReference(image: string) {
  const [path] = image.split('@') as [string];
  const first = path.split('/')[0]!;
  const hasRegistry =
    path.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let full = hasRegistry ? image : path.includes('/') ? `docker.io/${image}` : `docker.io/library/${image}`;
  const name = full.split('@')[0]!;
  const lastSlash = name.lastIndexOf('/');
  if (!full.includes('@') && name.lastIndexOf(':') < lastSlash) full = `${full}:latest`;
  return parseReference(full);
}

/** The `auditAnnotations` key (the API server prefixes it with the webhook's name). */
export const AUDIT_ANNOTATION = 'would-deny';
/** The API server truncates longer warnings (admission/v1 AdmissionResponse.warnings). */
const WARNING_MAX_CHARS = 256;

/** A review's answer: in `enforce` the reasons deny; in `warn` and `audit` they are reported and the workload admitted. */
export function admissionResponse(uid: string, denied: string[], mode: AdmissionMode = 'enforce') {
  const envelope = (response: Record<string, unknown>) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, ...response },
  });
  if (denied.length === 0) return envelope({ allowed: true });
  const message = denied.join('; ');
  if (mode === 'warn') {
    const warnings = denied.map((reason) => {
      const text = `slsa-gate would deny: ${reason}`;
      return text.length > WARNING_MAX_CHARS ? `${text.slice(0, WARNING_MAX_CHARS - 1)}…` : text;
    });
    return envelope({ allowed: true, warnings });
  }
  if (mode === 'audit') return envelope({ allowed: true, auditAnnotations: { [AUDIT_ANNOTATION]: message } });
  return envelope({ allowed: false, status: { code: 403, reason: 'Forbidden', message } });
}

/** Decides one AdmissionReview: the reasons to deny, empty to admit. */
export function createAdmissionReviewer(opts: AdmissionOptions) {
  /** Verified digests: until when, and the attachments they were verified with. */
  const cache = new Map<string, { until: number; attachments: string }>();
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheTtlMs ?? 5 * 60_000;

  async function checkImage(image: string, workload?: CredentialsProvider): Promise<string | undefined> {
    let ref;
    try {
      ref = imageReference(image);
    } catch (err) {
      return isGateError(err) ? `${err.code}: ${err.message}` : String(err);
    }
    if (opts.requireDigest && ref.digest === undefined)
      return `MUTABLE_REF: ${image} is not pinned to a digest`;
    const client = opts.registry(ref.registry, workload);
    const digest = ref.digest ?? (await client.resolve(ref.repository, ref.tag ?? 'latest')).digest;
    const key = `${ref.registry}/${ref.repository}@${digest}`;
    // Revocations are looked up on every review, remembered verdict or not: in the gate's
    // archive by digest, and in the registry as a change of what is attached to the digest
    // (the gate's FAILED VSA, docs/consumers.md#revoked-images). Read before verifying, so a
    // revocation attached meanwhile changes the value at the next review.
    const revoked = await opts.isRevoked?.(digest);
    if (revoked !== undefined) return `REVOKED: ${key}: the gate's archive: ${revoked}`;
    const attachments = await attachmentsFingerprint(client, ref.repository, digest);
    const remembered = cache.get(key);
    if (remembered && remembered.until > now() && remembered.attachments === attachments) return undefined;
    cache.delete(key);
    const verdict = await verifyPublishedImage(
      client,
      { repository: ref.repository, digest },
      { ...opts.expect, resourceUri: expectedResourceUri(opts.mirrors ?? {}, ref) },
    );
    if (verdict.outcome === 'PASSED') {
      cache.set(key, { until: now() + ttl, attachments });
      return undefined;
    }
    return `${verdict.failure?.code}: ${key}: ${verdict.failure?.reason}`;
  }

  return async function review(review: AdmissionReview): Promise<string[]> {
    const { request } = review;
    // Only what creates or changes running containers is checked; a DELETE carries no new image.
    if (request.operation === 'DELETE' || request.operation === 'CONNECT') return [];
    const spec = podSpecOf(request.kind.kind, request.object);
    if (typeof spec === 'string') return [`INPUT_INVALID: ${spec}`];
    const images = podImages(spec);
    if (images.length === 0) return [`INPUT_INVALID: ${request.kind.kind} has no containers`];
    const secretNames = (spec.imagePullSecrets ?? []).flatMap((s) => (s.name ? [s.name] : []));
    // The pod's own namespace: a pod can name only pull secrets there.
    const workloadCredentials =
      opts.pullSecrets && secretNames.length > 0 && request.namespace
        ? opts.pullSecrets(request.namespace, secretNames)
        : undefined;
    // Read once per review, shared by its images; a failure fails each image with its code.
    workloadCredentials?.catch(() => undefined);
    const work = Promise.all(
      images.map(async ({ field, image }) => {
        if (image === undefined || image === '') return `${field}: INPUT_INVALID: no image`;
        try {
          const why = await checkImage(image, await workloadCredentials);
          return why === undefined ? undefined : `${field} ${image}: ${why}`;
        } catch (err) {
          return `${field} ${image}: ${isGateError(err) ? `${err.code}: ${err.message}` : 'verification failed'}`;
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = opts.timeoutMs ?? 8000;
    const deadline = new Promise<Array<string | undefined>>((resolve) => {
      timer = setTimeout(
        () => resolve([`REGISTRY_UNAVAILABLE: verification did not finish within ${timeoutMs} ms`]),
        timeoutMs,
      );
    });
    try {
      const reasons = await Promise.race([work, deadline]);
      return reasons.filter((r): r is string => r !== undefined);
    } finally {
      clearTimeout(timer);
    }
  };
}

const MAX_REVIEW_BYTES = 3 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REVIEW_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.byteLength });
  res.end(bytes);
}

const inputError = (res: ServerResponse, status: number, message: string) =>
  sendJson(res, status, { error: { code: 'INPUT_INVALID', message } });

/** The serving certificate and key files (PEM), e.g. a mounted `kubernetes.io/tls` Secret. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

function readTls(files: TlsFiles) {
  return {
    cert: readConfigText(files.certFile, CERTIFICATE_FILE_LIMIT_BYTES, 'TLS certificate'),
    key: readConfigText(files.keyFile, KEY_FILE_LIMIT_BYTES, 'TLS key'),
  };
}

/** Changes when either file is replaced (a Secret volume swaps a symlink: a new inode and mtime). */
function tlsStamp(files: TlsFiles): string {
  return [files.certFile, files.keyFile]
    .map((path) => {
      const st = statSync(path);
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    })
    .join('|');
}

/**
 * Serves the certificate the files hold at each connection: before the TLS handshake starts,
 * a change of either file loads both again (cert-manager renews into the mounted Secret;
 * nothing restarts the pod). A pair that does not load (a half-written renewal, a key that
 * does not match) keeps the previous pair until the files are whole.
 */
function reloadTlsOnChange(server: Server, files: TlsFiles): void {
  let stamp = tlsStamp(files);
  server.prependListener('connection', () => {
    try {
      const current = tlsStamp(files);
      if (current === stamp) return;
      const pair = readTls(files);
      createSecureContext(pair);
      server.setSecureContext(pair);
      stamp = current;
    } catch {
      // Keep serving the pair loaded last; the next connection looks again.
    }
  });
}

/** The HTTPS server: `POST /validate` takes an AdmissionReview, `GET /healthz` says ok. */
export function createAdmissionServer(
  opts: AdmissionOptions & { tls: TlsFiles; mode?: AdmissionMode },
): Server {
  const review = createAdmissionReviewer(opts);
  const server = createServer(readTls(opts.tls), (req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'https://webhook.invalid').pathname;
      if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { ok: true });
      if (path !== '/validate') return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: path } });
      if (req.method !== 'POST') return inputError(res, 405, 'POST an AdmissionReview to /validate');
      const body = await readBody(req);
      if (body === undefined) return inputError(res, 413, `AdmissionReview over ${MAX_REVIEW_BYTES} bytes`);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return inputError(res, 400, 'the body is not JSON');
      }
      const parsed = AdmissionReviewSchema.safeParse(json);
      if (!parsed.success) {
        return inputError(
          res,
          400,
          `not an admission.k8s.io/v1 AdmissionReview: ${z.prettifyError(parsed.error)}`,
        );
      }
      const denied = await review(parsed.data);
      sendJson(res, 200, admissionResponse(parsed.data.request.uid, denied, opts.mode));
    })().catch((err: unknown) => {
      // Never a stack trace to the caller; the API server applies the configuration's failurePolicy.
      const message = err instanceof GateError ? `${err.code}: ${err.message}` : 'internal error';
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL_ERROR', message } });
      else res.destroy();
    });
  });
  reloadTlsOnChange(server, opts.tls);
  return server;
}

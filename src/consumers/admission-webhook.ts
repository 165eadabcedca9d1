/**
 * A Kubernetes ValidatingAdmissionWebhook (admission.k8s.io/v1 AdmissionReview over HTTPS):
 * a Pod, or a workload through its pod template, is admitted only if every container, init
 * container and ephemeral container image is pinned to a digest, or a tag that resolves to
 * one, carrying a VSA from the gate that `verifyPublishedImage` accepts.
 *
 * Fails closed: an image that cannot be resolved or verified in time, an unknown kind, a
 * missing image: denied with the reason in `status.message`. A request that is not an
 * AdmissionReview is answered 400 with a coded error, never a crash.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { GateError, isGateError } from '../core/errors.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parseReference } from '../registry/reference.ts';
import { expectedResourceUri, type MirrorMap } from './mirror-map.ts';
import {
  verifyPublishedImage,
  type PublishedVsaExpectation,
  type VsaRevocationCheck,
} from './published-vsa.ts';

// Kubernetes API (admission/v1 AdmissionReview; core/v1 PodSpec): upstream formats, unknown fields kept.
const ContainerSchema = z.looseObject({ name: z.string(), image: z.string().optional() });
const PodSpecSchema = z.looseObject({
  containers: z.array(ContainerSchema).default([]),
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

/** Options of the webhook. */
export interface AdmissionOptions {
  expect: Omit<PublishedVsaExpectation, 'resourceUri'>;
  /** A client for a registry host (`host[:port]`). */
  registry: (host: string) => RegistryClient;
  /** Refuse images named by tag alone (a tag can move between admission and the kubelet's pull). */
  requireDigest?: boolean;
  /** Per-request time budget; past it the request is denied (default 8 s, under the API server's 10 s default). */
  timeoutMs?: number;
  /** How long a verified digest is remembered (default 5 minutes). */
  cacheTtlMs?: number;
  /** Mirror prefix → release prefix: a mirrored image is checked against its release repository's VSA. */
  mirrors?: MirrorMap;
  /** The gate's archive, when the webhook may read it: a revoked digest is denied at once. */
  isRevoked?: VsaRevocationCheck;
  now?: () => number;
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

/** A review's answer. */
export function admissionResponse(uid: string, denied: string[]) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response:
      denied.length === 0
        ? { uid, allowed: true }
        : { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: denied.join('; ') } },
  };
}

/** Decides one AdmissionReview: the reasons to deny, empty to admit. */
export function createAdmissionReviewer(opts: AdmissionOptions) {
  const cache = new Map<string, number>();
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheTtlMs ?? 5 * 60_000;

  async function checkImage(image: string): Promise<string | undefined> {
    let ref;
    try {
      ref = imageReference(image);
    } catch (err) {
      return isGateError(err) ? `${err.code}: ${err.message}` : String(err);
    }
    if (opts.requireDigest && ref.digest === undefined)
      return `MUTABLE_REF: ${image} is not pinned to a digest`;
    const client = opts.registry(ref.registry);
    const digest = ref.digest ?? (await client.resolve(ref.repository, ref.tag ?? 'latest')).digest;
    const key = `${ref.registry}/${ref.repository}@${digest}`;
    // The archive is asked on every review, cache or not: a revocation counts at once there.
    // From the registry alone, a digest verified before its revocation is admitted until
    // its cache entry expires.
    const revoked = await opts.isRevoked?.(digest);
    if (revoked !== undefined) return `REVOKED: ${key}: the gate's archive: ${revoked}`;
    const until = cache.get(key);
    if (until !== undefined && until > now()) return undefined;
    const verdict = await verifyPublishedImage(
      client,
      { repository: ref.repository, digest },
      { ...opts.expect, resourceUri: expectedResourceUri(opts.mirrors ?? {}, ref) },
    );
    if (verdict.outcome === 'PASSED') {
      cache.set(key, now() + ttl);
      return undefined;
    }
    return `${verdict.failure?.code}: ${key}: ${verdict.failure?.reason}`;
  }

  return async function review(review: AdmissionReview): Promise<string[]> {
    const { request } = review;
    // Only what creates or changes running containers is checked; a DELETE carries no new image.
    if (request.operation === 'DELETE' || request.operation === 'CONNECT') return [];
    const spec = podSpecOf(request.kind.kind, request.object);
    if (typeof spec === 'string') return [spec];
    const images = podImages(spec);
    if (images.length === 0) return [`${request.kind.kind} has no containers`];
    const work = Promise.all(
      images.map(async ({ field, image }) => {
        if (image === undefined || image === '') return `${field}: no image`;
        try {
          const why = await checkImage(image);
          return why === undefined ? undefined : `${field} ${image}: ${why}`;
        } catch (err) {
          return `${field} ${image}: ${isGateError(err) ? `${err.code}: ${err.message}` : 'verification failed'}`;
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = opts.timeoutMs ?? 8000;
    const deadline = new Promise<Array<string | undefined>>((resolve) => {
      timer = setTimeout(() => resolve([`verification did not finish within ${timeoutMs} ms`]), timeoutMs);
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

/** The HTTPS server: `POST /validate` takes an AdmissionReview, `GET /healthz` says ok. */
export function createAdmissionServer(
  opts: AdmissionOptions & { tls: { cert: string; key: string } },
): Server {
  const review = createAdmissionReviewer(opts);
  return createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
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
      sendJson(res, 200, admissionResponse(parsed.data.request.uid, denied));
    })().catch((err: unknown) => {
      // Never a stack trace to the caller; the API server applies the configuration's failurePolicy.
      const message = err instanceof GateError ? `${err.code}: ${err.message}` : 'internal error';
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL_ERROR', message } });
      else res.destroy();
    });
  });
}

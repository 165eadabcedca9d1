/**
 * An HTTP attestation store (protocol in docs/attestors.md):
 *
 *   GET <base>/v1/attestations?digest=<alg>:<hex>&predicateType=<uri>
 *     200 { "attestations": [<Sigstore bundle or DSSE envelope JSON>, …] }   (empty list: none)
 *     404                                                                      none
 *     202 { "status": "pending", "retryAfterSeconds": n }  (or Retry-After)   not computed yet
 *     429, 5xx, network error, timeout                                        ATTESTOR_UNAVAILABLE, retryable
 *
 * The store is not trusted: every attestation goes through `evaluateVsas`.
 */
import { GateError } from '../core/errors.ts';
import { MAX_ATTESTATIONS, MAX_INPUT_BYTES } from '../core/verify/load-attestations.ts';
import { SLSA_VSA_V1 } from '../core/formats/slsa/vsa-v1.ts';
import {
  attestorUnavailable,
  describeResource,
  type Attestor,
  type AttestorAnswer,
  type LookupContext,
  type Resource,
  reasonOf,
  type Reason,
} from './attestor.ts';
import { answerOf, attestorTrustDigest, evaluateVsas, type VsaTrust } from './vsa-trust.ts';

/** Options of an HTTP store attestor. */
export interface HttpStoreOptions {
  name: string;
  /** `https://store.example` (plain http only for loopback). */
  baseUrl: string;
  trust: VsaTrust;
  predicateType?: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Extra request headers, e.g. an Authorization token. */
  headers?: Record<string, string>;
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])$/;

/** The digest the store is asked by: sha256 when there is one, else the first algorithm (gitCommit for a revision). */
export function queryDigest(resource: Resource): string | undefined {
  const set = resource.kind === 'git' ? { gitCommit: resource.commit } : resource.digest;
  if (set === undefined) return undefined;
  const alg = set.sha256 !== undefined ? 'sha256' : Object.keys(set).sort()[0];
  return alg === undefined ? undefined : `${alg}:${set[alg]!.toLowerCase()}`;
}

function retryAfter(res: Response, body: unknown): number | undefined {
  const fromBody = (body as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof fromBody === 'number' && Number.isInteger(fromBody) && fromBody >= 0) return fromBody;
  const header = res.headers.get('retry-after');
  if (header !== null && /^\d+$/.test(header)) return Number(header);
  return undefined;
}

async function readCapped(res: Response, max: number, what: string, attestor: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max)
    throw new GateError('LIMIT_EXCEEDED', `${what}: ${declared} bytes, over ${max}`, {
      detail: { attestor },
    });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > max)
      throw new GateError('LIMIT_EXCEEDED', `${what}: over ${max} bytes`, {
        detail: { attestor },
      });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An attestor over the HTTP attestation store protocol. */
export function createHttpStoreAttestor(opts: HttpStoreOptions): Attestor {
  const base = new URL(opts.baseUrl);
  if (base.protocol !== 'https:' && !(base.protocol === 'http:' && LOOPBACK.test(base.hostname))) {
    throw new GateError(
      'CONFIG_INVALID',
      `attestation store ${opts.baseUrl}: https only (plain http on loopback)`,
    );
  }
  const predicateType = opts.predicateType ?? SLSA_VSA_V1;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const { name, trust } = opts;

  async function lookup(resource: Resource, ctx: LookupContext = {}): Promise<AttestorAnswer> {
    const digest = queryDigest(resource);
    if (digest === undefined)
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `${describeResource(resource)} has no digest to ask by`)],
      };
    const url = new URL('v1/attestations', base.href.endsWith('/') ? base : `${base.href}/`);
    url.searchParams.set('digest', digest);
    url.searchParams.set('predicateType', predicateType);
    const signals = [AbortSignal.timeout(timeoutMs), ...(ctx.signal ? [ctx.signal] : [])];
    let res: Response;
    let bytes: Uint8Array;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...opts.headers },
        signal: AbortSignal.any(signals),
      });
      bytes = await readCapped(res, MAX_INPUT_BYTES, `GET ${url}`, name);
    } catch (err) {
      if (err instanceof GateError) throw err;
      if (ctx.signal?.aborted) throw err;
      throw attestorUnavailable(name, `GET ${url}: ${(err as Error).message}`, true, { url: url.href }, err);
    }
    let body: unknown;
    try {
      body = bytes.length === 0 ? undefined : JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      body = undefined;
    }
    if (res.status === 429 || res.status >= 500) {
      const after = retryAfter(res, body);
      throw attestorUnavailable(name, `GET ${url}: HTTP ${res.status}`, true, {
        url: url.href,
        status: res.status,
        ...(after === undefined ? {} : { retryAfterSeconds: after }),
      });
    }
    if (res.status === 404)
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `no attestations for ${digest}`)],
      };
    if (res.status === 202) {
      const after = retryAfter(res, body);
      return {
        status: 'pending',
        ...(after === undefined ? {} : { retryAfterSeconds: after }),
        reasons: [reasonOf('NO_ATTESTATION', name, `attestations for ${digest} are pending`)],
      };
    }
    const list = (body as { attestations?: unknown } | undefined)?.attestations;
    if (res.status !== 200 || !Array.isArray(list)) {
      throw attestorUnavailable(name, `GET ${url}: HTTP ${res.status}, not an attestations document`, false, {
        url: url.href,
        status: res.status,
      });
    }
    if (list.length > MAX_ATTESTATIONS) {
      throw new GateError(
        'LIMIT_EXCEEDED',
        `GET ${url}: ${list.length} attestations, more than ${MAX_ATTESTATIONS}`,
        {
          detail: { attestor: name, url: url.href },
        },
      );
    }
    const evidence = [];
    const reasons: Reason[] = [];
    for (const [i, attestation] of list.entries()) {
      // Each element is judged on its own; its bytes are its JSON serialisation (as npm attestations are).
      const one = evaluateVsas(
        Buffer.from(JSON.stringify(attestation)),
        `${url.href}#attestations[${i}]`,
        resource,
        trust,
      );
      evidence.push(...one.evidence);
      reasons.push(...one.reasons);
    }
    return answerOf(
      { evidence, reasons },
      'vsa',
      reasonOf('NO_ATTESTATION', name, `${list.length} attestations for ${digest}, none proves a level`),
    );
  }

  const trustDigest = attestorTrustDigest(trust, base.href, predicateType);
  return { name, trustDigest, lookup };
}

/**
 * A read-only adapter for Archivista (in-toto/archivista): its GraphQL search by subject
 * digest (`POST <base>/v1/query`, the `dsses(where: {hasStatementWith: {hasSubjectsWith:
 * {hasSubjectDigestsWith: {value, algorithm}}}})` query archivistactl uses) lists DSSE
 * envelope gitoids, and `GET <base>/v1/download/<gitoid>` returns each envelope.
 *
 * Archivista stores bare DSSE envelopes: a key-signed envelope verifies with the configured
 * key; one signed with a Fulcio certificate carries no log entry and fails closed
 * (TLOG_MISSING). A downloaded envelope must hash to the gitoid it was asked by.
 */
import { createHash } from 'node:crypto';
import { GateError } from '../core/errors.ts';
import { MAX_INPUT_BYTES } from '../core/verify/load-attestations.ts';
import {
  attestorUnavailable,
  type Attestor,
  type AttestorAnswer,
  type LookupContext,
  type Resource,
  reasonOf,
  type Reason,
} from './attestor.ts';
import { queryDigest } from './http-store.ts';
import { answerOf, attestorTrustDigest, evaluateVsas, type VsaTrust } from './vsa-trust.ts';

/** Envelopes read per subject at most. */
const MAX_ENVELOPES = 100;

const SEARCH_QUERY = `query($algo: String!, $digest: String!) {
  dsses(where: {hasStatementWith: {hasSubjectsWith: {hasSubjectDigestsWith: {value: $digest, algorithm: $algo}}}}) {
    edges { node { gitoidSha256 } }
  }
}`;

/** The gitoid (sha256) of a blob: git's object id of the bytes (`blob <size>\0<bytes>`). */
export function gitoidSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** An attestor reading VSAs from an Archivista instance. */
export function createArchivistaAttestor(opts: {
  name: string;
  baseUrl: string;
  trust: VsaTrust;
  timeoutMs?: number;
  headers?: Record<string, string>;
}): Attestor {
  const { name, trust } = opts;
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 30_000;

  async function call(
    url: string,
    init: RequestInit,
    ctx: LookupContext,
  ): Promise<{ status: number; bytes: Uint8Array }> {
    const signals = [AbortSignal.timeout(timeoutMs), ...(ctx.signal ? [ctx.signal] : [])];
    try {
      const res = await fetch(url, {
        ...init,
        headers: { ...opts.headers, ...init.headers },
        signal: AbortSignal.any(signals),
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > MAX_INPUT_BYTES) {
        throw new GateError('LIMIT_EXCEEDED', `${url}: over ${MAX_INPUT_BYTES} bytes`, {
          detail: { attestor: name },
        });
      }
      if (res.status === 429 || res.status >= 500)
        throw attestorUnavailable(name, `${url}: HTTP ${res.status}`, true, { url, status: res.status });
      return { status: res.status, bytes };
    } catch (err) {
      if (err instanceof GateError || ctx.signal?.aborted) throw err;
      throw attestorUnavailable(name, `${url}: ${(err as Error).message}`, true, { url }, err);
    }
  }

  async function lookup(resource: Resource, ctx: LookupContext = {}): Promise<AttestorAnswer> {
    const digest = queryDigest(resource);
    if (digest === undefined)
      return { status: 'not-found', reasons: [reasonOf('NO_ATTESTATION', name, `no digest to search by`)] };
    const [algo, value] = digest.split(':') as [string, string];
    const search = await call(
      `${base}/v1/query`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: SEARCH_QUERY, variables: { algo, digest: value } }),
      },
      ctx,
    );
    let gitoids: string[];
    try {
      const body = JSON.parse(Buffer.from(search.bytes).toString('utf8')) as {
        data?: { dsses?: { edges?: Array<{ node?: { gitoidSha256?: unknown } }> } };
        errors?: unknown[];
      };
      if (search.status !== 200 || (body.errors?.length ?? 0) > 0)
        throw new Error(`HTTP ${search.status} ${JSON.stringify(body.errors ?? [])}`);
      gitoids = (body.data?.dsses?.edges ?? [])
        .map((e) => e.node?.gitoidSha256)
        .filter((g): g is string => typeof g === 'string' && /^[0-9a-f]{64}$/.test(g));
    } catch (err) {
      throw attestorUnavailable(name, `search for ${digest}: ${(err as Error).message}`, false, { digest });
    }
    if (gitoids.length === 0)
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `no envelopes about ${digest}`)],
      };
    const evidence = [];
    const reasons: Reason[] = [];
    for (const gitoid of gitoids.slice(0, MAX_ENVELOPES)) {
      const url = `${base}/v1/download/${gitoid}`;
      const got = await call(url, { method: 'GET' }, ctx);
      if (got.status !== 200) {
        reasons.push(reasonOf('REGISTRY_ERROR', url, `HTTP ${got.status}`));
        continue;
      }
      if (gitoidSha256(got.bytes) !== gitoid) {
        reasons.push(reasonOf('DIGEST_MISMATCH', url, `the envelope is not gitoid ${gitoid}`));
        continue;
      }
      const one = evaluateVsas(got.bytes, url, resource, trust);
      evidence.push(...one.evidence);
      reasons.push(...one.reasons);
      ctx.heartbeat?.({ attestor: name, gitoid });
    }
    if (gitoids.length > MAX_ENVELOPES)
      reasons.push(
        reasonOf(
          'LIMIT_EXCEEDED',
          name,
          `${gitoids.length} envelopes about ${digest}, read the first ${MAX_ENVELOPES}`,
        ),
      );
    return answerOf(
      { evidence, reasons },
      'vsa',
      reasonOf('NO_ATTESTATION', name, `no envelope about ${digest} proves a level`),
    );
  }

  const trustDigest = attestorTrustDigest(trust, base);
  return { name, trustDigest, lookup };
}

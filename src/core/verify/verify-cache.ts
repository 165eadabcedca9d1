import { createHash } from 'node:crypto';
import type { VerifiedAttestation } from '../model.ts';
import { isGateError } from '../errors.ts';
import type { AttestationInput } from './attestation-input.ts';
import { loadAttestations } from './load-attestations.ts';
import { verifyAttestations, type RejectedAttestation, type VerifyContext } from './verify-attestations.ts';

type Outcome = { verified: VerifiedAttestation } | { rejected: RejectedAttestation };

/** A bounded least-recently-used map (Map keeps insertion order; a hit re-inserts). */
export class LruCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.#max = maxEntries;
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
  }

  get size(): number {
    return this.#map.size;
  }
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The cache key of one verification: everything its result depends on — the raw
 * attestation bytes, the trust material, the artifact (subject binding), the options,
 * and the policy digest when the caller caches a decision built on it. Validity is judged
 * at the signed timestamps; the clock is read only to refuse signed times in the future,
 * which can only become acceptable later: a cached pass stays right, and a cached
 * rejection for that reason outlives its cause by failing closed. So no time in the key.
 */
export function verificationCacheKey(input: AttestationInput, ctx: VerifyContext, policyDigest = ''): string {
  return contextKey(
    [input.form, input.form === 'bundle' ? (input.container ?? '') : '', input.origin, sha256(input.raw)],
    ctx,
    policyDigest,
  );
}

function contextKey(what: unknown[], ctx: VerifyContext, policyDigest: string): string {
  return sha256(
    JSON.stringify([
      ...what,
      ctx.trust.digest,
      ctx.artifact.digests,
      ctx.artifact.namedDigests ?? {},
      ctx.artifactBytes === undefined ? '' : sha256(ctx.artifactBytes),
      ctx.allowV01WithoutInclusionProof === true,
      ctx.signatureOnly === true,
      policyDigest,
    ]),
  );
}

/** A cache of verification outcomes (verified or rejected), bounded LRU. */
export class VerifyCache {
  readonly #lru: LruCache<Outcome>;
  readonly #files: LruCache<{ verified: VerifiedAttestation[]; rejected: RejectedAttestation[] }>;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 4096) {
    this.#lru = new LruCache(maxEntries);
    this.#files = new LruCache(maxEntries);
  }

  /** `verifyAttestations` with each input's outcome served from the cache when its key was seen. */
  verifyAttestations(
    inputs: AttestationInput[],
    ctx: VerifyContext,
    policyDigest = '',
  ): { verified: VerifiedAttestation[]; rejected: RejectedAttestation[] } {
    const verified: VerifiedAttestation[] = [];
    const rejected: RejectedAttestation[] = [];
    for (const input of inputs) {
      const key = verificationCacheKey(input, ctx, policyDigest);
      let outcome = this.#lru.get(key);
      if (outcome === undefined) {
        this.misses++;
        const r = verifyAttestations([input], ctx);
        outcome = r.verified[0] !== undefined ? { verified: r.verified[0] } : { rejected: r.rejected[0]! };
        this.#lru.set(key, outcome);
      } else {
        this.hits++;
      }
      if ('verified' in outcome) verified.push(outcome.verified);
      else rejected.push(outcome.rejected);
    }
    return { verified, rejected };
  }

  /**
   * Load and verify one attestation file with its whole outcome cached under the file's
   * digest: a repeated request costs one hash and a lookup, no parsing.
   */
  verifyBytes(
    bytes: Uint8Array,
    origin: string,
    ctx: VerifyContext,
    policyDigest = '',
  ): { verified: VerifiedAttestation[]; rejected: RejectedAttestation[] } {
    const key = contextKey(['bytes', origin, sha256(bytes)], ctx, policyDigest);
    const hit = this.#files.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    let result: { verified: VerifiedAttestation[]; rejected: RejectedAttestation[] };
    try {
      result = verifyAttestations(loadAttestations(bytes, origin), ctx);
    } catch (err) {
      if (!isGateError(err)) throw err;
      result = { verified: [], rejected: [{ origin, code: err.code, message: err.message }] };
    }
    this.#files.set(key, result);
    return result;
  }

  get size(): number {
    return this.#lru.size + this.#files.size;
  }
}

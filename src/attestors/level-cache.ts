/**
 * A cache of attestor answers, positive and negative, keyed by (resource, attestor,
 * trust-configuration digest): a changed trust configuration never reuses an answer
 * given under the old one. In-process LRU here; the interface is small enough to back
 * with the archive. Cached `found` answers keep their evidence bytes, so the level they
 * claim stays re-checkable (`recheckEvidence`).
 */
import { createHash } from 'node:crypto';
import type { Attestor, AttestorAnswer, Resource } from './attestor.ts';
import { resourceKey } from './attestor.ts';

/** Where answers are kept between lookups. */
export interface LevelCache {
  get(key: string): Promise<AttestorAnswer | undefined>;
  set(key: string, answer: AttestorAnswer, ttlMs: number): Promise<void>;
}

/** The cache key of an attestor's answer about a resource. */
export function levelCacheKey(resource: Resource, attestor: Pick<Attestor, 'name' | 'trustDigest'>): string {
  return createHash('sha256')
    .update(JSON.stringify([resourceKey(resource), attestor.name, attestor.trustDigest]))
    .digest('hex');
}

/** An in-process LRU with a TTL per entry. */
export class MemoryLevelCache implements LevelCache {
  readonly #entries = new Map<string, { answer: AttestorAnswer; expires: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(opts: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = opts.maxEntries ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Promise<AttestorAnswer | undefined> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    this.#entries.delete(key);
    if (entry.expires <= this.#now()) return Promise.resolve(undefined);
    this.#entries.set(key, entry); // most recently used last
    return Promise.resolve(structuredClone(entry.answer));
  }

  set(key: string, answer: AttestorAnswer, ttlMs: number): Promise<void> {
    this.#entries.delete(key);
    this.#entries.set(key, { answer: structuredClone(answer), expires: this.#now() + ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return Promise.resolve();
  }
}

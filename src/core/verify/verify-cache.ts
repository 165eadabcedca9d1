/**
 * The verification caches' switch and their one container type.
 *
 * Every cache of the verifier (src/core/verify/sigstore-fast-path.ts) holds the result of a
 * pure function of its key: a certificate's signature under an issuer's key, a leaf's SCTs
 * under the trusted CT logs, a checkpoint's signature under the trusted logs. A hit skips
 * recomputing that result and nothing else; every other check still runs. Verification is
 * synchronous and each worker thread has its own module instance, so no cache is shared
 * between concurrent verifications in flight.
 */

let enabled = true;

/**
 * Turns every verification cache on or off (on by default). The core reads no environment:
 * src/loaders/verify-cache-switch.ts reads SLSA_GATE_VERIFY_CACHE and sets this. Off, each
 * cache is neither read nor written; the corpus, mutation and bypass tests run both ways.
 */
export function setVerifyCaches(on: boolean): void {
  enabled = on;
}

export function verifyCachesEnabled(): boolean {
  return enabled;
}

/** A map of at most `capacity` entries that forgets the least recently used one first. */
export class LruCache<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used entry.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** `compute()` through `cache` under `key`, or straight through when the caches are off. */
export function cached<K, V>(cache: LruCache<K, V>, key: K, compute: () => V): V {
  if (!verifyCachesEnabled()) return compute();
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const value = compute();
  cache.set(key, value);
  return value;
}

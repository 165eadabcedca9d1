import { createHash, type Hash } from 'node:crypto';
import { GateError } from '../core/errors.ts';

/**
 * Content digests as the OCI image spec defines them (descriptor.md §Digests).
 * Only the registered algorithms we can recompute are accepted, so every digest
 * we hand out can be checked against the bytes it names.
 */
const DIGEST_PATTERNS = {
  sha256: /^sha256:[a-f0-9]{64}$/,
  sha512: /^sha512:[a-f0-9]{128}$/,
} as const;

/** The digest algorithms the client can verify. */
export type DigestAlgorithm = keyof typeof DIGEST_PATTERNS;

/** True when `value` is a well-formed sha256 or sha512 digest (lowercase hex, full length). */
export function isDigest(value: string): boolean {
  return DIGEST_PATTERNS.sha256.test(value) || DIGEST_PATTERNS.sha512.test(value);
}

/** Throws INPUT_INVALID unless `value` is a well-formed digest; `where` names the field. */
export function assertDigest(value: string, where: string): void {
  if (!isDigest(value)) {
    throw new GateError('INPUT_INVALID', `${where}: "${value}" is not a sha256/sha512 digest`, {
      detail: { where, value },
    });
  }
}

/** The sha256 digest (`sha256:<hex>`) of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** An incremental hasher for the algorithm of an expected digest, for checking a stream as it arrives. */
export function hasherFor(digest: string): { update(chunk: Uint8Array): void; digest(): string } {
  const algorithm = digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
  const hash: Hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => `${algorithm}:${hash.digest('hex')}`,
  };
}

/** The digest of `bytes` computed with the algorithm `expected` uses. */
export function digestLike(expected: string, bytes: Uint8Array): string {
  const h = hasherFor(expected);
  h.update(bytes);
  return h.digest();
}

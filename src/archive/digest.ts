import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';

/** `sha256:<hex>` of the given bytes or UTF-8 text. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * The digest of the evidence set a decision was made on: sha256 over the canonical
 * JSON `{"attestations":[sorted, de-duplicated digests],"policy":"<policy digest>"}`.
 * Canonical JSON keeps the encoding unambiguous (no separator can be forged inside a digest).
 */
export function computeEvidenceDigest(attestationDigests: readonly string[], policyDigest: string): string {
  const attestations = [...new Set(attestationDigests)].sort();
  return sha256Digest(canonicalJson({ attestations, policy: policyDigest }));
}

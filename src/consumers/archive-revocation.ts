/**
 * The consumers' revocation hook (`VsaRevocationCheck`) answered from the gate's archive: an
 * image whose digest has a revoked published decision is not verified, whichever of its VSAs
 * is presented (fail closed: a revocation of one publish of a digest revokes the digest).
 * One read of the digest's revocation list by key, then each revocation by key.
 */
import type { Archive } from '../archive/archive.ts';
import type { VsaRevocationCheck } from './published-vsa.ts';

export function archiveRevocationCheck(archive: Pick<Archive, 'revocationsOf'>): VsaRevocationCheck {
  return async ({ subjectDigest }) => {
    const revocations = await archive.revocationsOf(subjectDigest);
    if (revocations.length === 0) return undefined;
    return revocations
      .map((r) => `decision ${r.decisionId} revoked by ${r.by} at ${r.at}: ${r.reason}`)
      .join('; ');
  };
}

import type { Archive } from '../archive/archive.ts';
import { GateError } from '../core/errors.ts';

/** Archived attestations by content digest, in the order asked; a missing one is an error, never skipped. */
export async function loadArchivedAttestations(
  archive: Archive,
  digests: readonly string[],
): Promise<Array<{ digest: string; raw: string; origin: string }>> {
  const byId = await archive.getAttestations(digests);
  return digests.map((digest) => {
    const record = byId.get(digest);
    if (!record) {
      throw new GateError('ARCHIVE_ERROR', `attestation ${digest} is not in the archive`, {
        detail: { digest },
      });
    }
    return { digest, raw: record.raw, origin: record.origin };
  });
}

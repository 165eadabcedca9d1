/**
 * The consumers' revocation hook (`VsaRevocationCheck`) answered from the gate's archive: a
 * revoked digest is not verified, whichever of its VSAs is presented. One read by key.
 * Consumers without archive access see the FAILED VSA the revocation attached instead.
 */
import type { Archive } from '../archive/archive.ts';
import { describeRevocation } from '../archive/revocation-record.ts';
import type { VsaRevocationCheck } from './published-vsa.ts';

export function archiveRevocationCheck(archive: Pick<Archive, 'revocationOf'>): VsaRevocationCheck {
  return async (subjectDigest) => {
    const revocation = await archive.revocationOf(subjectDigest);
    if (!revocation) return undefined;
    return describeRevocation(revocation);
  };
}

/**
 * The hook over the archive named by `--mongodb-uri` and `--db` (read-only: no index is
 * created), for verify-image and the webhook; undefined without `--mongodb-uri`.
 */
export async function connectRevocationCheck(flags: {
  mongoUri: string | undefined;
  database: string | undefined;
}): Promise<{ isRevoked: VsaRevocationCheck; close(): Promise<void> } | undefined> {
  if (flags.mongoUri === undefined) return undefined;
  const [{ loadArchiveSettings }, { connectArchive }] = await Promise.all([
    import('../config/config.ts'),
    import('../config/mongo-options.ts'),
  ]);
  const settings = loadArchiveSettings({ mongoUri: flags.mongoUri, database: flags.database });
  const archive = await connectArchive(settings, { serverSelectionTimeoutMS: 5000, createIndexes: false });
  return { isRevoked: archiveRevocationCheck(archive), close: () => archive.close() };
}

/**
 * "Already published", as the API and the CLI answer a request again: the decision that
 * published this digest to this destination under this tag (or untagged), read by key from the
 * `publications` record, as long as it still stands. A digest revoked since gets no such answer:
 * the request goes to the workflow, which denies it and archives the denial. The workflow asks
 * the same two questions through its activities (denyIfRevoked, findPublished).
 */
import type { Archive } from './archive.ts';
import type { DecisionRecord } from './decision-record.ts';

/** The key of a publication: `registry/repository`, digest, tag (none: untagged); see publicationOf. */
export interface PublicationKey {
  repository: string;
  digest: string;
  tag?: string;
}

/** A decision that published, with where it did. */
export type PublishedDecision = DecisionRecord & { published: NonNullable<DecisionRecord['published']> };

/** The first decision that published `key`, unless the digest has been revoked since. */
export async function standingPublication(
  archive: Archive,
  key: PublicationKey,
): Promise<PublishedDecision | undefined> {
  const decision = await archive.findPublished(key.repository, key.digest, key.tag);
  if (!decision?.published) return undefined;
  if (await archive.revocationOf(key.digest)) return undefined;
  return { ...decision, published: decision.published };
}

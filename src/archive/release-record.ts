import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/**
 * What was last published at one `repository:tag` (`_id`), for the rollback check: the
 * published decision with the newest `decidedAt` there. Kept by `markPublished`, right after
 * the decision's move to `published`, so the publish path reads one document by key instead of
 * searching every decision (on FerretDB 1.x only a lone `_id` filter is served by an index).
 */
export const ReleaseDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  repository: NameSchema,
  tag: NameSchema,
  decisionId: NameSchema,
  digest: Sha256DigestSchema,
  /** The source ref the published artifact was built from (`refs/tags/v1.2.3`), when known. */
  sourceRef: NameSchema.optional(),
  decidedAt: IsoDateSchema,
  publishedAt: IsoDateSchema,
});
/** A release record as plain JSON. */
export type ReleaseRecord = z.input<typeof ReleaseDocSchema>;

/** The `_id` of the release record of `repository:tag`. */
export function releaseId(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/**
 * The first decision that published a digest to a destination under a tag (`_id` =
 * `<repository>@<digest>:<tag>`, tag empty when untagged): one publish per (destination,
 * digest, tag), found by key. Written by `markPublished` if absent (the first one stands).
 */
export const PublicationDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisionId: NameSchema,
});

/** The `_id` of the publication record of (repository, digest, tag). */
export function publicationId(repository: string, digest: string, tag: string | undefined): string {
  return `${repository}@${digest}:${tag ?? ''}`;
}

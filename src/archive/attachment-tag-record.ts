import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/**
 * The manifest the gate last wrote under an attachment tag of a release repository (`_id` =
 * `<repository>:<tag>`): the cosign `sha256-<hex>.att` manifest and, on registries without
 * the referrers API, the `sha256-<hex>` referrers fallback index. The drift monitor skips
 * such a tag only when it still names this manifest; anything else under an
 * attachment-shaped tag is checked like any other tag.
 */
export const AttachmentTagDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** `host/repository`. */
  repository: NameSchema,
  tag: NameSchema,
  /** The image the attachments are about. */
  subjectDigest: Sha256DigestSchema,
  /** The manifest the gate put under the tag. */
  digest: Sha256DigestSchema,
  at: IsoDateSchema,
});
/** An attachment tag record as plain JSON. */
export type AttachmentTagRecord = z.input<typeof AttachmentTagDocSchema>;

/** The `_id` of the attachment record of `repository:tag`. */
export function attachmentTagId(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

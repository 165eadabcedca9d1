import * as z from 'zod';
import { SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/**
 * The VSAs slsa-gate issued for one artifact digest (`_id` = `sha256:<hex>`), by their
 * `vsas` `_id`s in the order issued: the archive attestor reads this document and then each
 * VSA by key, never searching `vsas` by subject. Appended by `storeVsa` after the VSA itself.
 */
export const SubjectVsasDocSchema = z.strictObject({
  _id: Sha256DigestSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  issued: z.array(z.string()),
});
/** A subject's issued-VSA list as plain JSON. */
export type SubjectVsasRecord = z.input<typeof SubjectVsasDocSchema>;

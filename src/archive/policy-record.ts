import * as z from 'zod';
import { IsoDateSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/**
 * One policy version as it was used: `digest` is the policy's own digest (computed by the
 * policy layer over the parsed policy, what decisions cite), `text` the file verbatim.
 * Equivalent texts (formatting, YAML vs JSON) share a digest, so `_id` is
 * `<digest>|<textDigest>`: each (digest, text) pair is stored once and never conflicts.
 */
export const PolicyDocSchema = z.strictObject({
  _id: z.string(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  digest: Sha256DigestSchema,
  /** sha256 of the UTF-8 text, so a changed text is detectable without the policy parser. */
  textDigest: Sha256DigestSchema,
  text: z.string(),
  firstStoredAt: IsoDateSchema,
});
/** A policy as plain JSON. */
export type PolicyRecord = z.input<typeof PolicyDocSchema>;

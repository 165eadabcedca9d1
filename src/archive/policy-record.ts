import { z } from 'zod';
import { IsoDateSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/** One policy version: `_id` = sha256 of the UTF-8 text, which is stored verbatim. */
export const PolicyDocSchema = z.strictObject({
  _id: Sha256DigestSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  text: z.string(),
  firstStoredAt: IsoDateSchema,
});
/** A policy as plain JSON. */
export type PolicyRecord = z.input<typeof PolicyDocSchema>;

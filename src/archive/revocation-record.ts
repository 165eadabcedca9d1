import { z } from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema, TextSchema } from './codecs.ts';

/** Why and by whom a published decision was revoked (issue 14 §4). */
export const RevocationInputSchema = z.strictObject({
  reason: TextSchema,
  /** The verified identity of the administrator who revoked it. */
  by: NameSchema,
  at: z.iso.datetime({ offset: true }),
});
export type RevocationInput = z.input<typeof RevocationInputSchema>;

/**
 * A revocation, one per decision (`_id` = the decision id): appended, never an edit of the
 * decision, so the decision's content digest and history stay as they were.
 */
export const RevocationDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisionId: NameSchema,
  /** The published artifact's digest. */
  subjectDigest: Sha256DigestSchema,
  reason: TextSchema,
  by: NameSchema,
  at: IsoDateSchema,
});
export type RevocationRecord = z.input<typeof RevocationDocSchema>;

/** The revoked decisions of one artifact digest (`_id`), for a lookup by key. */
export const RevokedSubjectDocSchema = z.strictObject({
  _id: Sha256DigestSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisions: z.array(z.string()),
});

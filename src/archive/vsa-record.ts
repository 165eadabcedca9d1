import * as z from 'zod';
import { BytesSchema, IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/** A VSA the control point issued for a decision, or one a decision consumed as evidence. */
export const VsaInputSchema = z.strictObject({
  /** base64 of the raw bytes (the signed bundle or envelope) as issued or received. */
  raw: z.base64().min(1),
  direction: z.enum(['issued', 'consumed']),
  decisionId: NameSchema,
  subjectDigest: Sha256DigestSchema,
  resourceUri: NameSchema,
  verifierId: NameSchema,
  /** e.g. `SLSA_BUILD_LEVEL_3`, `SLSA_SOURCE_LEVEL_2`. */
  verifiedLevels: z.array(NameSchema).default([]),
  policyDigest: Sha256DigestSchema.optional(),
  at: z.iso.datetime({ offset: true }),
});
export type VsaInput = z.input<typeof VsaInputSchema>;

/**
 * Stored VSA, one per (decision, direction, bytes): `_id` = `<decisionId>|<direction>|<digest>`,
 * since one consumed VSA may back several decisions. `digest` = sha256 of `raw`.
 */
export const VsaDocSchema = z.strictObject({
  _id: z.string(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  digest: Sha256DigestSchema,
  raw: BytesSchema,
  direction: z.enum(['issued', 'consumed']),
  decisionId: NameSchema,
  subjectDigest: Sha256DigestSchema,
  resourceUri: NameSchema,
  verifierId: NameSchema,
  verifiedLevels: z.array(NameSchema),
  policyDigest: Sha256DigestSchema.optional(),
  at: IsoDateSchema,
});
/** A VSA as plain JSON (raw bytes in base64). */
export type VsaRecord = z.input<typeof VsaDocSchema>;

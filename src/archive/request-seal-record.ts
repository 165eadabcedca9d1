import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/**
 * The run that consumed a request seal (`_id` = the seal's nonce): the first run presenting
 * a seal owns it, and any other run presenting it is refused (SEAL_MISMATCH). Appended once,
 * never edited (docs/security-model.md#one-credential-one-run).
 */
export const RequestSealDocSchema = z.strictObject({
  _id: z.string().regex(/^[0-9a-f]{32}$/),
  schemaVersion: z.literal(SCHEMA_VERSION),
  workflowId: NameSchema,
  runId: NameSchema,
  /** The verified requester the seal names. */
  requester: NameSchema,
  requestDigest: Sha256DigestSchema,
  at: IsoDateSchema,
});
/** A consumed request seal as plain JSON. */
export type RequestSealRecord = z.input<typeof RequestSealDocSchema>;

import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, TextSchema } from './codecs.ts';

/** An approver's verdict on a decision that needed approval. */
export const ApprovalInputSchema = z.strictObject({
  approver: NameSchema,
  verdict: z.enum(['approve', 'reject']),
  reason: TextSchema,
  at: z.iso.datetime({ offset: true }),
});
export type ApprovalInput = z.input<typeof ApprovalInputSchema>;

/** Stored approval, one per (decision, approver): `_id` = `<decisionId>|<approver>`. */
export const ApprovalDocSchema = z.strictObject({
  _id: z.string(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisionId: NameSchema,
  approver: NameSchema,
  verdict: z.enum(['approve', 'reject']),
  reason: TextSchema,
  at: IsoDateSchema,
});
/** An approval as plain JSON. */
export type ApprovalRecord = z.input<typeof ApprovalDocSchema>;

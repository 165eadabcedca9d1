import * as z from 'zod';
import { GroupNameSchema } from '../core/identity.ts';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, TextSchema } from './codecs.ts';

/**
 * An approver's verdict on a decision that needed approval. `approver` is the verified
 * identity id, or `unverified:<typed name>` for a verdict that carried none
 * (docs/security-model.md#approvals).
 */
export const ApprovalInputSchema = z.strictObject({
  approver: NameSchema,
  verdict: z.enum(['approve', 'reject']),
  reason: TextSchema,
  at: z.iso.datetime({ offset: true }),
  /** Whether the API verified who sent it (false: a name typed where unverified approvals are allowed). */
  verified: z.boolean(),
  /** The rule's approver group the approver's membership satisfied, when the rule names groups. */
  group: GroupNameSchema.optional(),
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
  /** Absent on approvals archived before verification was recorded: unknown, shown as such. */
  verified: z.boolean().optional(),
  group: GroupNameSchema.optional(),
});
/** An approval as plain JSON. */
export type ApprovalRecord = z.input<typeof ApprovalDocSchema>;

import * as z from 'zod';
import { SCHEMA_VERSION } from './codecs.ts';

/**
 * The `approvals` `_id`s given on one decision (`_id` = the decision id), appended by
 * `recordApproval` after the approval itself: the move to `approved` reads this document and
 * each approval by key, never searching `approvals` by decision.
 */
export const ApprovalSetDocSchema = z.strictObject({
  _id: z.string(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  approvals: z.array(z.string()),
});
/** A decision's approval list as plain JSON. */
export type ApprovalSetRecord = z.input<typeof ApprovalSetDocSchema>;

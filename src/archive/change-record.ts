import * as z from 'zod';
import { SCHEMA_VERSION } from './codecs.ts';

/** The collections a change names records of: the ones the read model is exported from. */
export const CHANGED_COLLECTIONS = [
  'decisions',
  'attestations',
  'vsas',
  'approvals',
  'events',
  'policies',
  'exceptions',
] as const;
export type ChangedCollection = (typeof CHANGED_COLLECTIONS)[number];

/** `YYYY-MM-DDTHH:MM`: the UTC minute a change bucket collects. */
export const ChangeMinuteSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/, 'expected YYYY-MM-DDTHH:MM');

/** The UTC minute of an instant, as a change bucket's `_id`. */
export function changeMinute(at: Date): string {
  return at.toISOString().slice(0, 16);
}

/**
 * The change feed: one document per UTC minute (`_id`) listing, per collection, the `_id`s of
 * the records written in that minute. Every write the read model exports appends here after
 * the record itself (`$addToSet`, idempotent), so an incremental export reads the minutes since
 * its last run and then each record by key, and never searches a collection.
 */
export const ChangeDocSchema = z.strictObject({
  _id: ChangeMinuteSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisions: z.array(z.string()).optional(),
  attestations: z.array(z.string()).optional(),
  vsas: z.array(z.string()).optional(),
  approvals: z.array(z.string()).optional(),
  events: z.array(z.string()).optional(),
  policies: z.array(z.string()).optional(),
  exceptions: z.array(z.string()).optional(),
});
/** One minute of the change feed as plain JSON. */
export type ChangeRecord = z.input<typeof ChangeDocSchema>;

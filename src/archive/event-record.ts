import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION } from './codecs.ts';
import { DecisionStatusSchema } from './lifecycle.ts';

/**
 * A status transition of a decision; `from` is null for the creation of the record.
 * `_id` = `<decisionId>|from:<from>` (`<decisionId>|created` for the creation): the lifecycle
 * has no cycles, so a status is left once, and a retried or racing move cannot append a second event.
 */
export const EventDocSchema = z.strictObject({
  _id: z.string(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisionId: NameSchema,
  from: DecisionStatusSchema.nullable(),
  to: DecisionStatusSchema,
  at: IsoDateSchema,
  by: NameSchema.optional(),
  /** Free-form context as a JSON string (its keys are not ours, so not BSON keys). */
  data: z.string().optional(),
});
/** An event as plain JSON. */
export type EventRecord = z.input<typeof EventDocSchema>;

/** The `reason` an event's data carries (a denial, a cancellation, a termination), for display. */
export function eventReason(event: Pick<EventRecord, 'data'>): string | undefined {
  if (event.data === undefined) return undefined;
  try {
    const data: unknown = JSON.parse(event.data);
    const reason =
      typeof data === 'object' && data !== null ? (data as { reason?: unknown }).reason : undefined;
    return typeof reason === 'string' && reason !== '' ? reason : undefined;
  } catch {
    return undefined;
  }
}

import * as z from 'zod';
import { CheckIdSchema } from '../core/model.ts';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, TextSchema } from './codecs.ts';

/** A dependency (or other) exception a decision relied on: who granted what, when and why. */
export const ExceptionInputSchema = z.strictObject({
  /** The check the exception relaxes (usually `dependencies`). */
  check: CheckIdSchema,
  /** What it covers: a dependency URI or purl, a builder id, … */
  subject: NameSchema,
  grantedBy: NameSchema,
  reason: TextSchema,
  grantedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type ExceptionInput = z.infer<typeof ExceptionInputSchema>;

/** Stored exception: `_id` = `<decisionId>#<index in the decision's list>`. */
export const ExceptionDocSchema = z.strictObject({
  _id: z.string(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  decisionId: z.string(),
  check: CheckIdSchema,
  subject: NameSchema,
  grantedBy: NameSchema,
  reason: TextSchema,
  grantedAt: IsoDateSchema,
  expiresAt: IsoDateSchema.optional(),
});
/** An exception as plain JSON. */
export type ExceptionRecord = z.input<typeof ExceptionDocSchema>;

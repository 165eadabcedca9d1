/** An in-toto Statement of either version slsa-gate reads (v0.1 or v1), told apart by `_type`. */
import * as z from 'zod';
import { INTOTO_STATEMENT_V0_1, IntotoStatementV01Schema } from './statement-v0.1.ts';
import { INTOTO_STATEMENT_V1, IntotoStatementV1Schema } from './statement-v1.ts';

export { INTOTO_PAYLOAD_TYPE, type StatementSubject } from './statement-v1.ts';

/** The `_type` values accepted, oldest first. */
export const STATEMENT_TYPES = [INTOTO_STATEMENT_V0_1, INTOTO_STATEMENT_V1] as const;

export const IntotoStatementSchema = z.discriminatedUnion('_type', [
  IntotoStatementV01Schema,
  IntotoStatementV1Schema,
]);
export type IntotoStatement = z.infer<typeof IntotoStatementSchema>;

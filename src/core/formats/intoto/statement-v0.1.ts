/**
 * in-toto Statement v0.1 (in-toto/attestation spec v0.1.0). Same fields as v1; only
 * `_type` differs, so the v1 subject schema is reused.
 */
import * as z from 'zod';
import { StatementSubjectSchema } from './statement-v1.ts';

export const INTOTO_STATEMENT_V0_1 = 'https://in-toto.io/Statement/v0.1';

export const IntotoStatementV01Schema = z.looseObject({
  _type: z.literal(INTOTO_STATEMENT_V0_1),
  subject: z.array(StatementSubjectSchema).min(1),
  predicateType: z.string(),
  predicate: z.unknown().optional(),
});
export type IntotoStatementV01 = z.infer<typeof IntotoStatementV01Schema>;

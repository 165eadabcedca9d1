/** The envelope fields of an in-toto Statement (v0.1 and v1) that the policy layer reads. */
import { z } from 'zod';
import { IntotoDigestSetSchema } from './resource-descriptor-v1.ts';

export const STATEMENT_TYPES = [
  'https://in-toto.io/Statement/v0.1',
  'https://in-toto.io/Statement/v1',
] as const;

export const StatementSubjectSchema = z.looseObject({
  name: z.string().optional(),
  digest: IntotoDigestSetSchema,
});
export type StatementSubject = z.infer<typeof StatementSubjectSchema>;

/** Loose: in-toto spec v1 §parsing rules, consumers ignore unknown fields. */
export const IntotoStatementSchema = z.looseObject({
  _type: z.enum(STATEMENT_TYPES),
  subject: z.array(StatementSubjectSchema).min(1),
  predicateType: z.string().min(1),
  predicate: z.unknown(),
});
export type IntotoStatement = z.infer<typeof IntotoStatementSchema>;

/** in-toto Statement v1 (in-toto/attestation spec/v1/statement.md). */
import * as z from 'zod';
import { IntotoDigestSetSchema } from './resource-descriptor-v1.ts';

export const INTOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

/** The DSSE payloadType of an in-toto statement, any version (spec v1 envelope.md). */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** spec v1 §ResourceDescriptor as a statement subject; unknown fields are ignored. */
export const StatementSubjectSchema = z.looseObject({
  name: z.string().optional(),
  digest: IntotoDigestSetSchema,
});
export type StatementSubject = z.infer<typeof StatementSubjectSchema>;

/** Loose: consumers ignore unknown fields (spec v1 §parsing rules). */
export const IntotoStatementV1Schema = z.looseObject({
  _type: z.literal(INTOTO_STATEMENT_V1),
  subject: z.array(StatementSubjectSchema).min(1),
  // An empty predicateType parses (old generators emitted one) but never matches a type policy asks for.
  predicateType: z.string(),
  predicate: z.unknown().optional(),
});
export type IntotoStatementV1 = z.infer<typeof IntotoStatementV1Schema>;

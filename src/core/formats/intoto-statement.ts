import { z } from 'zod';

/** in-toto Statement `_type` values we accept (in-toto attestation spec v0.1 and v1). */
export const STATEMENT_TYPES = [
  'https://in-toto.io/Statement/v0.1',
  'https://in-toto.io/Statement/v1',
] as const;

/** The DSSE payloadType of an in-toto statement (in-toto spec v1 §envelope). */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** in-toto spec v1 §ResourceDescriptor: a subject; unknown fields are ignored. */
export const SubjectSchema = z.looseObject({
  name: z.string().optional(),
  digest: z.record(z.string(), z.string()),
});

/** in-toto Statement v0.1 / v1 (loose: consumers ignore unknown fields, spec §validation). */
export const InTotoStatementSchema = z.looseObject({
  _type: z.enum(STATEMENT_TYPES),
  subject: z.array(SubjectSchema).min(1),
  // An empty predicateType parses (old generators emitted one) but never matches a type policy asks for.
  predicateType: z.string(),
  predicate: z.unknown().optional(),
});
export type InTotoStatement = z.infer<typeof InTotoStatementSchema>;

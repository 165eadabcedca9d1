/**
 * Google Cloud Build provenance as printed by
 * `gcloud artifacts docker images describe IMAGE --show-provenance --format json`.
 * Upstream format: unknown fields are ignored. Only `envelope` is signed; the
 * summaries and `build.*` statements beside it are unsigned copies.
 */
import * as z from 'zod';
import { DsseEnvelopeSchema } from '../dsse/envelope-v1.ts';

/** One Container Analysis BUILD occurrence: the signed envelope and unsigned metadata. */
export const GcbProvenanceOccurrenceSchema = z.looseObject({
  kind: z.string(),
  resourceUri: z.string(),
  envelope: DsseEnvelopeSchema,
  build: z.looseObject({}).optional(),
});
export type GcbProvenanceOccurrence = z.infer<typeof GcbProvenanceOccurrenceSchema>;

/** The whole `--show-provenance` document. */
export const GcbProvenanceSchema = z.looseObject({
  image_summary: z.looseObject({
    digest: z.string(),
    fully_qualified_digest: z.string(),
    registry: z.string().optional(),
    repository: z.string().optional(),
  }),
  provenance_summary: z.looseObject({
    provenance: z.array(GcbProvenanceOccurrenceSchema),
  }),
});
export type GcbProvenance = z.infer<typeof GcbProvenanceSchema>;

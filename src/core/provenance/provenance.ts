/**
 * The one internal model of SLSA provenance v0.1, v0.2 and v1 that the checks read, and
 * the findings normalisation hands them: where the signer's certificate (attested by
 * Fulcio from the OIDC token) contradicts what the build wrote in the predicate, the
 * builder or source check reports it under its own id (slsa-verifier provenance_forgeable.go).
 */
import * as z from 'zod';
import { ErrorCodeSchema, DigestSetSchema } from '../model.ts';
import { SLSA_PROVENANCE_V0_1 } from '../formats/slsa/provenance-v0.1.ts';
import { SLSA_PROVENANCE_V0_2 } from '../formats/slsa/provenance-v0.2.ts';
import { SLSA_PROVENANCE_V1 } from '../formats/slsa/provenance-v1.ts';

export const PROVENANCE_PREDICATE_TYPES = [
  SLSA_PROVENANCE_V0_1,
  SLSA_PROVENANCE_V0_2,
  SLSA_PROVENANCE_V1,
] as const;

/** True when `predicateType` is one of the SLSA provenance versions we normalise. */
export function isProvenancePredicateType(predicateType: string | undefined): boolean {
  return (PROVENANCE_PREDICATE_TYPES as readonly string[]).includes(predicateType ?? '');
}

export const ProvenanceSchema = z.strictObject({
  predicateType: z.enum(PROVENANCE_PREDICATE_TYPES),
  builder: z.strictObject({
    /** builder.id as recorded (npm CLI v0.2's bare runner id canonicalised, see rawId). */
    id: z.string(),
    /** builder.id without its `@version` suffix. */
    name: z.string(),
    /** The part after `@`, e.g. `refs/tags/v2.1.0` or `v0.3`. */
    version: z.string().optional(),
    /** builder.id exactly as the predicate wrote it, when it differs from `id`. */
    rawId: z.string().optional(),
  }),
  buildType: z.string(),
  /** v0.2 `invocation.configSource.entryPoint`, v0.1 `recipe.entryPoint`, v1 per buildType (e.g. `externalParameters.workflow.path`). */
  entryPoint: z.string().optional(),
  /** v1 `externalParameters`, v0.2 `invocation.parameters`, v0.1 `recipe.arguments`. */
  externalParameters: z.record(z.string(), z.unknown()),
  /** workflow_dispatch / reusable-workflow inputs, where the buildType records them. */
  workflowInputs: z.record(z.string(), z.unknown()).optional(),
  /** The source repository (`git+https://host/owner/repo`, no ref), its ref and commit. */
  source: z
    .strictObject({ uri: z.string(), ref: z.string().optional(), commit: z.string().optional() })
    .optional(),
  /** The event that triggered the build (`push`, `workflow_dispatch`, ...). */
  event: z.string().optional(),
  repositoryId: z.string().optional(),
  repositoryOwnerId: z.string().optional(),
  resolvedDependencies: z.array(
    z.strictObject({
      uri: z.string().optional(),
      digest: DigestSetSchema,
      name: z.string().optional(),
      annotations: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  subjects: z.array(z.strictObject({ name: z.string().optional(), digest: DigestSetSchema })),
  buildFinishedOn: z.string().optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** The provenance as an adapter builds it, before the statement's subjects are added. */
export type ProvenanceDraft = Omit<Provenance, 'subjects'>;

/**
 * Something normalisation found that makes the provenance unfit for one check: the
 * predicate contradicts itself or the certificate, or a field is not of the form the
 * spec requires. The check named reports it under its own id and code.
 */
export const ProvenanceFindingSchema = z.strictObject({
  check: z.enum(['builder', 'source']),
  code: ErrorCodeSchema,
  message: z.string(),
  /** JSON path of the predicate field (or certificate extension) at fault. */
  path: z.string(),
});
export type ProvenanceFinding = z.infer<typeof ProvenanceFindingSchema>;

/** What normalisation returns: the model, and what the builder and source checks must report. */
export interface NormalisedProvenance {
  provenance: Provenance;
  findings: ProvenanceFinding[];
}

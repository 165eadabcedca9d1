import * as z from 'zod';

/**
 * The npm registry's attestations document (`GET /-/npm/v1/attestations/<name>@<version>`):
 * the publish attestation and the provenance, each a Sigstore bundle. The outer
 * `predicateType` is unsigned; only the signed statement's counts.
 */
export const NpmAttestationsSchema = z.looseObject({
  attestations: z.array(
    z.looseObject({
      predicateType: z.string(),
      bundle: z.looseObject({ mediaType: z.string() }),
    }),
  ),
});
export type NpmAttestations = z.infer<typeof NpmAttestationsSchema>;

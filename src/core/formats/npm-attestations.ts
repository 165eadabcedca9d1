import { z } from 'zod';

/** npm publish attestation predicate type (github.com/npm/attestation specs/publish/v0.1). */
export const NPM_PUBLISH_PREDICATE_TYPE = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';

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

/** The npm registry's publish attestation predicate, v0.1 (github.com/npm/attestation specs/publish/v0.1). */
import * as z from 'zod';

export const NPM_PUBLISH_V0_1 = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';

export const NpmPublishV01Schema = z.looseObject({
  name: z.string().min(1),
  version: z.string().min(1),
  registry: z.string().optional(),
});
export type NpmPublishV01 = z.infer<typeof NpmPublishV01Schema>;

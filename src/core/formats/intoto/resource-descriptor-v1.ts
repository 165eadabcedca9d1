/** in-toto ResourceDescriptor v1 and DigestSet, as used by SLSA provenance and VSAs. */
import * as z from 'zod';

/** in-toto spec v1 §DigestSet: algorithm name → hex (or, for some algorithms, another encoding). */
export const IntotoDigestSetSchema = z.record(z.string(), z.string());

/** in-toto ResourceDescriptor v1; unknown fields are ignored (in-toto spec v1 §parsing rules). */
export const ResourceDescriptorSchema = z.looseObject({
  uri: z.string().optional(),
  digest: IntotoDigestSetSchema.optional(),
  name: z.string().optional(),
  downloadLocation: z.string().optional(),
  mediaType: z.string().optional(),
  content: z.string().optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
});
export type ResourceDescriptor = z.infer<typeof ResourceDescriptorSchema>;

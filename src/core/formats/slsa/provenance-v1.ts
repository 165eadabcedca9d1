/** SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance). */
import * as z from 'zod';
import { ResourceDescriptorSchema } from '../intoto/resource-descriptor-v1.ts';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

export const SlsaProvenanceV1Schema = z.looseObject({
  buildDefinition: z.looseObject({
    buildType: z.string().min(1),
    // SLSA v1 §BuildDefinition: externalParameters is REQUIRED and is a JSON object.
    externalParameters: z.record(z.string(), z.unknown()),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(ResourceDescriptorSchema).optional(),
  }),
  runDetails: z.looseObject({
    builder: z.looseObject({
      id: z.string().min(1),
      version: z.record(z.string(), z.string()).optional(),
      builderDependencies: z.array(ResourceDescriptorSchema).optional(),
    }),
    metadata: z
      .looseObject({
        invocationId: z.string().optional(),
        startedOn: z.string().optional(),
        finishedOn: z.string().optional(),
      })
      .optional(),
    byproducts: z.array(ResourceDescriptorSchema).optional(),
  }),
});
export type SlsaProvenanceV1 = z.infer<typeof SlsaProvenanceV1Schema>;

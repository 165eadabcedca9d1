/** SLSA provenance v0.2 (https://slsa.dev/provenance/v0.2). */
import * as z from 'zod';
import { IntotoDigestSetSchema } from '../intoto/resource-descriptor-v1.ts';

export const SLSA_PROVENANCE_V0_2 = 'https://slsa.dev/provenance/v0.2';

const MaterialV02Schema = z.looseObject({
  uri: z.string().optional(),
  digest: IntotoDigestSetSchema.optional(),
});

export const SlsaProvenanceV02Schema = z.looseObject({
  builder: z.looseObject({ id: z.string().min(1) }),
  buildType: z.string().min(1),
  invocation: z
    .looseObject({
      configSource: z
        .looseObject({
          uri: z.string().optional(),
          digest: IntotoDigestSetSchema.optional(),
          entryPoint: z.string().optional(),
        })
        .optional(),
      parameters: z.unknown().optional(),
      environment: z.unknown().optional(),
    })
    .optional(),
  buildConfig: z.unknown().optional(),
  metadata: z
    .looseObject({
      buildInvocationID: z.string().optional(),
      buildStartedOn: z.string().optional(),
      buildFinishedOn: z.string().optional(),
    })
    .optional(),
  materials: z.array(MaterialV02Schema).optional(),
});
export type SlsaProvenanceV02 = z.infer<typeof SlsaProvenanceV02Schema>;

/** SLSA provenance v0.1 (https://slsa.dev/provenance/v0.1), as Google Cloud Build emits it. */
import * as z from 'zod';
import { IntotoDigestSetSchema } from '../intoto/resource-descriptor-v1.ts';

export const SLSA_PROVENANCE_V0_1 = 'https://slsa.dev/provenance/v0.1';

const MaterialV01Schema = z.looseObject({
  uri: z.string().optional(),
  digest: IntotoDigestSetSchema.optional(),
});

export const SlsaProvenanceV01Schema = z.looseObject({
  builder: z.looseObject({ id: z.string().min(1) }),
  recipe: z
    .looseObject({
      type: z.string().min(1),
      definedInMaterial: z.number().int().optional(),
      entryPoint: z.string().optional(),
      arguments: z.unknown().optional(),
      environment: z.unknown().optional(),
    })
    .optional(),
  metadata: z
    .looseObject({
      buildInvocationId: z.string().optional(),
      buildStartedOn: z.string().optional(),
      buildFinishedOn: z.string().optional(),
    })
    .optional(),
  materials: z.array(MaterialV01Schema).optional(),
});
export type SlsaProvenanceV01 = z.infer<typeof SlsaProvenanceV01Schema>;

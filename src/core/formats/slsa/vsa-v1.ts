/** SLSA Verification Summary Attestation v1 (https://slsa.dev/spec/v1.0/verification_summary). */
import * as z from 'zod';
import { IntotoDigestSetSchema } from '../intoto/resource-descriptor-v1.ts';

export const SLSA_VSA_V1 = 'https://slsa.dev/verification_summary/v1';

export const SlsaVsaV1Schema = z.looseObject({
  verifier: z.looseObject({
    id: z.string().min(1),
    version: z.record(z.string(), z.string()).optional(),
  }),
  timeVerified: z.string().optional(),
  resourceUri: z.string().min(1),
  policy: z.looseObject({ uri: z.string().optional(), digest: IntotoDigestSetSchema.optional() }).optional(),
  inputAttestations: z
    .array(z.looseObject({ uri: z.string().optional(), digest: IntotoDigestSetSchema.optional() }))
    .optional(),
  verificationResult: z.string().min(1),
  verifiedLevels: z.array(z.string()),
  dependencyLevels: z.record(z.string(), z.number().int().nonnegative()).optional(),
  slsaVersion: z.string().optional(),
});
export type SlsaVsaV1 = z.infer<typeof SlsaVsaV1Schema>;

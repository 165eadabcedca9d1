/** Google Cloud Build buildTypes (SLSA v0.1 `recipe.type`), as Cloud Build signs them. */
import * as z from 'zod';
import { asRecord, str } from '../predicate-fields.ts';

export const CLOUD_BUILD_BUILD_TYPES = {
  gcbYamlV01: 'https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1',
  gcbStepsV01: 'https://cloudbuild.googleapis.com/CloudBuildSteps@v0.1',
} as const;

/**
 * Cloud Build records the Build resource (cloudbuild v1 `Build`); its top-level fields
 * are pinned, their contents are Google's.
 */
export const GcbBuildParameters = z.strictObject({
  '@type': z.literal('type.googleapis.com/google.devtools.cloudbuild.v1.Build'),
  id: z.string().optional(),
  name: z.string().optional(),
  projectId: z.string().optional(),
  buildTriggerId: z.string().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  source: z.record(z.string(), z.unknown()).optional(),
  sourceProvenance: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(z.record(z.string(), z.unknown())).optional(),
  substitutions: z.record(z.string(), z.string()).optional(),
  images: z.array(z.string()).optional(),
  artifacts: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  timeout: z.string().optional(),
  queueTtl: z.string().optional(),
  logsBucket: z.string().optional(),
  serviceAccount: z.string().optional(),
  availableSecrets: z.record(z.string(), z.unknown()).optional(),
});

/** Cloud Build records the ref only as build substitutions (slsa-verifier gcb/provenance.go). */
export function cloudBuildRef(args: Record<string, unknown>): string | undefined {
  const subs = asRecord(args.substitutions);
  const tag = str(subs?.TAG_NAME);
  const branch = str(subs?.BRANCH_NAME);
  return tag ? `refs/tags/${tag}` : branch ? `refs/heads/${branch}` : undefined;
}

/** Container-based build v0.1 (https://slsa.dev/container-based-build/v0.1?draft). */
import * as z from 'zod';
import { asRecord, gitUri, str } from '../predicate-fields.ts';
import type { ProvenanceFinding } from '../provenance.ts';
import type { BuildTypeFacts } from './trigger.ts';

export const CONTAINER_BASED_V0_1 = 'https://slsa.dev/container-based-build/v0.1?draft';

export const ContainerBasedParameters = z.strictObject({
  source: z.looseObject({ uri: z.string(), digest: z.record(z.string(), z.string()) }),
  builderImage: z.looseObject({ uri: z.string(), digest: z.record(z.string(), z.string()) }),
  configPath: z.string(),
  buildConfig: z.record(z.string(), z.unknown()),
});

/** Entry point (`configPath`) and trigger (`source.uri`). */
export function containerBasedFacts(
  ext: Record<string, unknown>,
  origin: string,
  findings: ProvenanceFinding[],
): BuildTypeFacts {
  const triggerPath = 'predicate.buildDefinition.externalParameters.source.uri';
  const facts: BuildTypeFacts = { triggerPath, github: {} };
  const configPath = str(ext.configPath);
  if (configPath !== undefined) facts.entryPoint = configPath;
  const trigger = gitUri(str(asRecord(ext.source)?.uri), triggerPath, origin, findings);
  if (trigger !== undefined) facts.trigger = trigger;
  return facts;
}

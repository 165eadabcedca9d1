/**
 * slsa-github-generator buildTypes: the v0.2 generic/go/container generators and the
 * BYOB delegator (internal/builders/generic, docs/byob.md), whose v1 provenance records
 * the GitHub context in internalParameters.
 */
import * as z from 'zod';
import { githubContext, workflowPathOf } from './github-context.ts';
import type { BuildTypeFacts } from './trigger.ts';

export const SLSA_GITHUB_GENERATOR_BUILD_TYPES = {
  ghaGenericV1: 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
  ghaGoV1: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
  ghaContainerV1: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
  ghaDelegatorV0: 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
} as const;

/** BYOB: the delegator signs, the trusted reusable workflow (TRW) is the builder.id. */
export const DELEGATOR_BUILD_TYPES: readonly string[] = [SLSA_GITHUB_GENERATOR_BUILD_TYPES.ghaDelegatorV0];

const Inputs = z.record(z.string(), z.unknown());

/** v0.2 generic/go/container: workflow_dispatch inputs only. */
export const GhaGeneratorParameters = z.strictObject({ event_inputs: Inputs.optional() });

/** BYOB (internal/builders/generic and the delegator docs): inputs and vars. */
export const DelegatorParameters = z.strictObject({ inputs: Inputs, vars: Inputs.optional() });

/** v1 provenance of a generator that records the GitHub context (`GITHUB_*` in internalParameters). */
export function generatorFacts(internal: Record<string, unknown>): BuildTypeFacts {
  const github = githubContext(internal);
  const facts: BuildTypeFacts = {
    triggerPath: 'predicate.buildDefinition.internalParameters.GITHUB_REPOSITORY',
    github,
  };
  if (github.repository === undefined) return facts;
  const entryPoint = workflowPathOf(github.workflowRef);
  if (entryPoint !== undefined) facts.entryPoint = entryPoint;
  facts.trigger = { uri: `git+https://github.com/${github.repository}`, ref: github.ref };
  return facts;
}

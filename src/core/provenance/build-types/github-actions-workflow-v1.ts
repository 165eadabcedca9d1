/**
 * GitHub Actions workflow buildType v1 (github.com/slsa-framework/github-actions-buildtypes
 * workflow/v1), also published as `https://actions.github.io/buildtypes/workflow/v1`
 * (GitHub artifact attestations).
 */
import * as z from 'zod';
import { gitUriFromHttps } from '../git-uri.ts';
import { asRecord, str } from '../predicate-fields.ts';
import type { GithubContext } from './github-context.ts';
import type { BuildTypeFacts } from './trigger.ts';

export const GITHUB_ACTIONS_WORKFLOW_BUILD_TYPES = {
  actionsWorkflowV1: 'https://actions.github.io/buildtypes/workflow/v1',
  slsaGithubActionsWorkflowV1: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
} as const;

const Inputs = z.record(z.string(), z.unknown());

export const GithubWorkflowParameters = z.strictObject({
  workflow: z.strictObject({ ref: z.string(), repository: z.string(), path: z.string() }),
  inputs: Inputs.optional(),
  vars: Inputs.optional(),
});

/** Entry point (`workflow.path`), trigger (`workflow.repository@ref`) and `internalParameters.github`. */
export function githubWorkflowFacts(
  ext: Record<string, unknown>,
  internal: Record<string, unknown>,
): BuildTypeFacts {
  const workflow = asRecord(ext.workflow);
  const gh = asRecord(internal.github);
  const github: GithubContext = {};
  const event = str(gh?.event_name);
  const repositoryId = str(gh?.repository_id);
  const repositoryOwnerId = str(gh?.repository_owner_id);
  if (event !== undefined) github.event = event;
  if (repositoryId !== undefined) github.repositoryId = repositoryId;
  if (repositoryOwnerId !== undefined) github.repositoryOwnerId = repositoryOwnerId;
  const facts: BuildTypeFacts = { triggerPath: 'predicate.buildDefinition.externalParameters', github };
  const path = str(workflow?.path);
  if (path !== undefined) facts.entryPoint = path;
  const repository = str(workflow?.repository);
  if (repository !== undefined) {
    facts.trigger = { uri: gitUriFromHttps(repository), ref: str(workflow?.ref) };
    facts.triggerPath = 'predicate.buildDefinition.externalParameters.workflow';
  }
  return facts;
}

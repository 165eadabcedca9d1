/**
 * The GitHub context slsa-github-generator and the npm CLI record in provenance:
 * `GITHUB_X` (v1, BYOB internalParameters) or `github_x` (v0.2 invocation.environment).
 */
import { str } from '../predicate-fields.ts';

export interface GithubContext {
  event?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  repository?: string;
  ref?: string;
  workflowRef?: string;
}

/** The context fields present in `env`, either spelling. */
export function githubContext(env: Record<string, unknown> | undefined): GithubContext {
  if (env === undefined) return {};
  const pick = (upper: string, lower: string) => str(env[upper]) ?? str(env[lower]);
  const out: GithubContext = {};
  const set = (key: keyof GithubContext, value: string | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('event', pick('GITHUB_EVENT_NAME', 'github_event_name'));
  set('repositoryId', pick('GITHUB_REPOSITORY_ID', 'github_repository_id'));
  set('repositoryOwnerId', pick('GITHUB_REPOSITORY_OWNER_ID', 'github_repository_owner_id'));
  set('repository', pick('GITHUB_REPOSITORY', 'github_repository'));
  set('ref', pick('GITHUB_REF', 'github_ref'));
  set('workflowRef', pick('GITHUB_WORKFLOW_REF', 'github_workflow_ref'));
  return out;
}

/** `.github/workflows/x.yml` from `owner/repo/.github/workflows/x.yml@refs/...`. */
export function workflowPathOf(workflowRef: string | undefined): string | undefined {
  if (workflowRef === undefined) return undefined;
  const [path] = workflowRef.split('@');
  const parts = (path ?? '').split('/');
  return parts.length > 2 ? parts.slice(2).join('/') : undefined;
}

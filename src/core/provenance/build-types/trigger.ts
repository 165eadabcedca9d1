/** What a buildType's parameters say about the build's entry point and the repository that triggered it. */
import type { GitUriAndRef } from '../git-uri.ts';
import type { GithubContext } from './github-context.ts';

export interface BuildTypeFacts {
  entryPoint?: string;
  /** The repository and ref the build was triggered from, as this buildType records it. */
  trigger?: GitUriAndRef;
  /** JSON path of the trigger, for findings. */
  triggerPath: string;
  github: GithubContext;
}

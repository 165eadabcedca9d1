/**
 * Git source URIs as SLSA builders write them: `git+https://github.com/owner/repo@refs/heads/main`.
 * Comparison is exact after this one parse, as slsa-verifier does (utils.ParseGitURIAndRef):
 * no case folding, no `.git` or trailing-slash trimming (docs/checklist.md#row-20).
 */

/** A git URI split into the repository part and the ref after the single `@`. */
export interface GitUriAndRef {
  uri: string;
  ref: string | undefined;
}

/** Split `git+https://host/path@ref`; undefined when it is not of that form or has more than one `@`. */
export function parseGitUri(value: string): GitUriAndRef | undefined {
  if (!value.startsWith('git+https://')) return undefined;
  const parts = value.split('@');
  if (parts.length > 2) return undefined;
  const [uri, ref] = parts as [string, string | undefined];
  if (ref === '') return undefined;
  return { uri, ref };
}

/** `https://github.com/o/r` (a Fulcio sourceRepositoryURI) → `git+https://github.com/o/r`. */
export function gitUriFromHttps(value: string): string {
  return value.startsWith('https://') ? `git+${value}` : value;
}

/** `github.com/o/r`, `git+https://github.com/o/r` → `git+https://github.com/o/r` (slsa-verifier NormalizeGitURI). */
export function normaliseExpectedSourceUri(value: string): string {
  return value.startsWith('git+') ? value : `git+https://${value}`;
}

/** The branch name of `refs/heads/<name>`, else undefined. */
export function branchOf(ref: string | undefined): string | undefined {
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
}

/** The tag name of `refs/tags/<name>`, else undefined. */
export function tagOf(ref: string | undefined): string | undefined {
  return ref?.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
}

/** Turn zod issues into one readable line per problem, each with its JSON path. */
import type { z } from 'zod';

/** `a.b[2].c` style path, prefixed with `prefix` (e.g. `predicate`). */
export function jsonPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Every issue as `{ path, message }`, paths prefixed with `prefix`. */
export function listIssues(error: z.ZodError, prefix = ''): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path, prefix), message: issue.message }));
}

/** All issues on one line each: `path: message`. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return listIssues(error, prefix)
    .map((i) => `${i.path}: ${i.message}`)
    .join('\n');
}

/**
 * The grammar of registry hosts, repository names and tags (distribution/reference
 * regexp.go and the distribution spec). Pure, with no imports: the workflow contract's
 * schemas use it, and the workflow bundle may not pull in Node modules.
 */

// distribution/reference regexp.go: domain components, optional port, IPv6 in brackets.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
export const HOST = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?$`,
);
// distribution spec §Pulling manifests: <name> path components.
export const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
// distribution spec: a tag is at most 128 characters.
export const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MAX_NAME_LENGTH = 255;

/** True when `repository` is a repository name (`path/to/repo`, no host) of at most 255 characters. */
export function isRepositoryName(repository: string): boolean {
  return (
    repository.length > 0 &&
    repository.length <= MAX_NAME_LENGTH &&
    repository.split('/').every((c) => PATH_COMPONENT.test(c))
  );
}

import { GateError } from '../core/errors.ts';
import { isDigest } from './digest.ts';
import { HOST, MAX_NAME_LENGTH, PATH_COMPONENT, TAG } from './oci-names.ts';

/**
 * Image references, parsed strictly after the grammar of distribution/reference
 * (the one docker, containerd and cosign share). Unlike docker we never guess a
 * registry: the host is always explicit, so `ubuntu:22.04` is rejected rather
 * than silently meaning Docker Hub.
 */

/** A repository on a registry: `host[:port]/path/to/repo`. */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

/** An image reference: a repository with a tag, a digest, or both (the digest wins). */
export interface ImageReference extends RepositoryRef {
  tag?: string;
  digest?: string;
}

function invalid(input: string, part: string, why: string): GateError {
  return new GateError('INPUT_INVALID', `image reference "${input}": ${part} ${why}`, {
    detail: { reference: input, part },
  });
}

function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** True when `value` is a valid tag (and not a digest). */
export function isTag(value: string): boolean {
  return TAG.test(value);
}

/** Parses `host[:port]/repo/path` (no tag, no digest). Throws INPUT_INVALID naming the bad part. */
export function parseRepository(input: string): RepositoryRef {
  const slash = input.indexOf('/');
  if (slash <= 0) throw invalid(input, 'registry host', 'is missing (write host[:port]/repository)');
  const registry = input.slice(0, slash);
  const repository = input.slice(slash + 1);
  if (!looksLikeHost(registry) || !HOST.test(registry)) {
    throw invalid(input, 'registry host', `"${registry}" is not a host[:port] (a registry is never implied)`);
  }
  const port = registry.match(/:([0-9]+)$/)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw invalid(input, 'registry port', `${port} is out of range`);
  }
  checkRepositoryName(repository, input);
  return { registry, repository };
}

function checkRepositoryName(repository: string, input: string): void {
  if (repository === '') throw invalid(input, 'repository', 'is empty');
  if (repository.length > MAX_NAME_LENGTH) {
    throw invalid(input, 'repository', `is longer than ${MAX_NAME_LENGTH} characters`);
  }
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        'repository',
        `component "${component}" is not lowercase [a-z0-9] with . _ __ - separators`,
      );
    }
  }
}

/** Throws INPUT_INVALID unless `repository` is a valid repository name (`path/to/repo`, no host). */
export function assertRepositoryName(repository: string): void {
  checkRepositoryName(repository, repository);
}

/** `oci://host/repo…` and `host/repo…` name the same thing (ORAS and Helm write the scheme). */
export function withoutOciScheme(reference: string): string {
  return reference.startsWith('oci://') ? reference.slice('oci://'.length) : reference;
}

/** Parses `host[:port]/repo/path[:tag][@sha256:…]`; a tag or a digest is required. */
export function parseReference(input: string): ImageReference {
  if (input !== input.trim() || input === '')
    throw invalid(input, 'reference', 'is empty or has surrounding spaces');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest))
      throw invalid(input, 'digest', `"${digest}" is not sha256:<64 hex> or sha512:<128 hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  // A colon after the last slash separates the tag; one before it is the registry port.
  if (colon > lastSlash && lastSlash >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw invalid(input, 'tag', `"${tag}" is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
  }
  const repo = parseRepository(rest);
  if (tag === undefined && digest === undefined) {
    throw invalid(input, 'tag or digest', 'is missing (an implied :latest is never assumed)');
  }
  return { ...repo, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** Formats a reference back to `host/repo[:tag][@digest]`; inverse of parseReference. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${
    ref.digest === undefined ? '' : `@${ref.digest}`
  }`;
}

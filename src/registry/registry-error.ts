import { GateError, type ErrorCode } from '../core/errors.ts';

/** The codes the registry client raises. */
export type RegistryErrorCode = Extract<
  ErrorCode,
  | 'REGISTRY_ERROR'
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_AUTH'
  | 'DIGEST_MISMATCH'
  | 'MUTABLE_REF'
  | 'LIMIT_EXCEEDED'
  | 'INPUT_INVALID'
>;

/** A registry failure; its code says whether asking again may help (src/core/errors.ts). */
export function registryError(
  code: RegistryErrorCode,
  message: string,
  detail: Record<string, unknown>,
  cause?: unknown,
): GateError {
  return new GateError(code, message, { detail, ...(cause === undefined ? {} : { cause }) });
}

/**
 * A URL for error details without its query: upload locations carry signed
 * state, storage redirects carry signatures, and details end up in logs and the archive.
 */
export function withoutQuery(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

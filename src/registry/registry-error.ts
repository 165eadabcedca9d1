import { GateError, isGateError, type ErrorCode } from '../core/errors.ts';

/** The codes the registry client raises. */
export type RegistryErrorCode = Extract<
  ErrorCode,
  'REGISTRY_ERROR' | 'REGISTRY_AUTH' | 'DIGEST_MISMATCH' | 'MUTABLE_REF' | 'LIMIT_EXCEEDED' | 'INPUT_INVALID'
>;

/** A registry failure; `detail.retryable` tells activities whether Temporal should try again. */
export function registryError(
  code: RegistryErrorCode,
  message: string,
  detail: Record<string, unknown> & { retryable: boolean },
  cause?: unknown,
): GateError {
  return new GateError(code, message, { detail, ...(cause === undefined ? {} : { cause }) });
}

/**
 * True when a registry call failed for a reason that may pass on retry (network,
 * 429, 5xx). Denials (digest mismatch, mutable reference, limits, auth, 4xx) are not.
 */
export function isRetryableRegistryError(err: unknown): boolean {
  return isGateError(err) && err.detail?.retryable === true;
}

/** True when the error is the registry's 404 for a manifest, blob or upload. */
export function isNotFound(err: unknown): boolean {
  return isGateError(err) && err.code === 'REGISTRY_ERROR' && err.detail?.status === 404;
}

/**
 * A URL for error details without its query: upload locations carry signed
 * state, storage redirects carry signatures, and details end up in logs and the archive.
 */
export function withoutQuery(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

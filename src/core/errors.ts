/**
 * One error hierarchy for the whole control point. Every denial and every bad
 * input carries one of these codes; callers branch on `code`, never on message text.
 */
export const ERROR_CODES = [
  // input and format
  'INPUT_INVALID',
  'BUNDLE_MALFORMED',
  'LIMIT_EXCEEDED',
  'POLICY_INVALID',
  'POLICY_INCOMPLETE',
  'CONFIG_INVALID',
  // cryptographic and transparency layer
  'SIGNATURE_ERROR',
  'CERTIFICATE_ERROR',
  'TLOG_ERROR',
  'TLOG_BODY_ERROR',
  'TLOG_MISSING',
  'TIMESTAMP_ERROR',
  'TRUST_ROOT_UNAVAILABLE',
  'UNTRUSTED_SIGNER',
  'KEY_UNKNOWN',
  // statement layer
  'PAYLOAD_TYPE',
  'STATEMENT_TYPE',
  'PREDICATE_TYPE',
  'SUBJECT_MISMATCH',
  // policy layer
  'IDENTITY_MISMATCH',
  'BUILDER_UNTRUSTED',
  'BUILD_LEVEL_INSUFFICIENT',
  'SOURCE_MISMATCH',
  'REF_MISMATCH',
  'SOURCE_LEVEL_INSUFFICIENT',
  'ENTRYPOINT_MISMATCH',
  'DEP_LEVEL_INSUFFICIENT',
  'PACKAGE_MISMATCH',
  'VSA_MISMATCH',
  'ROLLBACK',
  'NO_PROVENANCE',
  // registry and publish
  'MUTABLE_REF',
  'DIGEST_MISMATCH',
  'REGISTRY_ERROR',
  'REGISTRY_AUTH',
  // an external attestor (attestation store, git remote) did not answer; detail.retryable says whether to ask again
  'ATTESTOR_UNAVAILABLE',
  'ARCHIVE_ERROR',
  'APPROVAL_REJECTED',
  'APPROVAL_EXPIRED',
  'APPROVER_NOT_ALLOWED',
  // issue 12: who asks, where it goes, how a run ends
  'IDENTITY_UNVERIFIED',
  'DESTINATION_NOT_ALLOWED',
  'CANCELLED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A coded failure. `detail` names what was wrong and where (a JSON path, a file, a field). */
export class GateError extends Error {
  readonly code: ErrorCode;
  readonly detail: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GateError';
    this.code = code;
    this.detail = options?.detail;
  }
}

export function isGateError(err: unknown): err is GateError {
  return err instanceof GateError;
}

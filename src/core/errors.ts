/**
 * One error hierarchy for the whole control point. Every denial and every bad input
 * carries one of these codes; callers branch on `code`, never on message text.
 *
 * Each code is decided once, in ERRORS: the layer that raises it and whether asking
 * again may help. The layers follow sigstore-js's split of VerificationError and
 * PolicyError: *verified* (the signature and its statement check out) is a different
 * thing from *trusted* (policy accepts that signer, builder, source), and both differ
 * from a bad input and from a service that did not answer.
 */

/** Where a failure comes from. */
export type ErrorLayer =
  /** The request, a policy, a configuration or a document is malformed: fix it and ask again. */
  | 'input'
  /** Signatures, certificates, transparency, statements: the material does not verify. */
  | 'verification'
  /** The material verifies, but policy does not accept what it says or who said it. */
  | 'policy'
  /** The approval step: rejected, expired, or an approver who may not approve. */
  | 'approval'
  /** A registry, attestor, archive, trust-root or Temporal service failed or did not answer. */
  | 'infrastructure'
  /** The run was stopped from outside (cancelled, terminated) before it decided. */
  | 'cancellation'
  /** A fault of the gate itself: an error no code names (a bug, a library's surprise). */
  | 'internal';

interface CodeSpec {
  layer: ErrorLayer;
  /** True when the same call may succeed later (the service was down or overloaded); false when it would fail again. */
  retryable: boolean;
}

/** Every error code with its layer and retryability: the one table. */
export const ERRORS = {
  INPUT_INVALID: { layer: 'input', retryable: false },
  BUNDLE_MALFORMED: { layer: 'input', retryable: false },
  LIMIT_EXCEEDED: { layer: 'input', retryable: false },
  POLICY_INVALID: { layer: 'input', retryable: false },
  POLICY_INCOMPLETE: { layer: 'input', retryable: false },
  /** A policy rule pins something an unrelated project also satisfies (docs/policy.md#breadth-policy_too_broad). */
  POLICY_TOO_BROAD: { layer: 'input', retryable: false },
  CONFIG_INVALID: { layer: 'input', retryable: false },
  /** A tag where only a digest may stand (past the first step, everything is pinned). */
  MUTABLE_REF: { layer: 'input', retryable: false },
  /**
   * A staged file artifact is not what the gate publishes files as: another artifactType, a
   * config, more than one layer, a subject, a file name that leaves the directory (docs/policy.md#files).
   */
  ARTIFACT_INVALID: { layer: 'input', retryable: false },
  /** The workflow, decision or record the request names does not exist. */
  NOT_FOUND: { layer: 'input', retryable: false },
  /**
   * No read model where one is named: the directory does not exist or holds no export
   * (`audit export --format parquet --out DIR` makes one; docs/audit.md#no-read-model-no-answer).
   */
  READ_MODEL_MISSING: { layer: 'input', retryable: false },

  SIGNATURE_ERROR: { layer: 'verification', retryable: false },
  CERTIFICATE_ERROR: { layer: 'verification', retryable: false },
  TLOG_ERROR: { layer: 'verification', retryable: false },
  TLOG_BODY_ERROR: { layer: 'verification', retryable: false },
  TLOG_MISSING: { layer: 'verification', retryable: false },
  TIMESTAMP_ERROR: { layer: 'verification', retryable: false },
  KEY_UNKNOWN: { layer: 'verification', retryable: false },
  PAYLOAD_TYPE: { layer: 'verification', retryable: false },
  STATEMENT_TYPE: { layer: 'verification', retryable: false },
  PREDICATE_TYPE: { layer: 'verification', retryable: false },
  SUBJECT_MISMATCH: { layer: 'verification', retryable: false },
  DIGEST_MISMATCH: { layer: 'verification', retryable: false },
  /**
   * A VSA signed by a configured key or identity that claims a verifier id that signer is not
   * configured to speak for (docs/attestors.md#trust-in-attestors).
   */
  VSA_SIGNER_UNTRUSTED: { layer: 'verification', retryable: false },

  UNTRUSTED_SIGNER: { layer: 'policy', retryable: false },
  IDENTITY_MISMATCH: { layer: 'policy', retryable: false },
  BUILDER_UNTRUSTED: { layer: 'policy', retryable: false },
  BUILD_LEVEL_INSUFFICIENT: { layer: 'policy', retryable: false },
  SOURCE_MISMATCH: { layer: 'policy', retryable: false },
  REF_MISMATCH: { layer: 'policy', retryable: false },
  SOURCE_LEVEL_INSUFFICIENT: { layer: 'policy', retryable: false },
  ENTRYPOINT_MISMATCH: { layer: 'policy', retryable: false },
  DEP_LEVEL_INSUFFICIENT: { layer: 'policy', retryable: false },
  PACKAGE_MISMATCH: { layer: 'policy', retryable: false },
  VSA_MISMATCH: { layer: 'policy', retryable: false },
  ROLLBACK: { layer: 'policy', retryable: false },
  NO_PROVENANCE: { layer: 'policy', retryable: false },
  /** No attestor holds a usable attestation about a resource (none stored, not yet computed, expired). */
  NO_ATTESTATION: { layer: 'policy', retryable: false },
  /** The operator's configuration does not allow publishing to this destination. */
  DESTINATION_NOT_ALLOWED: { layer: 'policy', retryable: false },
  /**
   * A file the rule does not publish: the rule names no files, not this name, or the
   * provenance names the file otherwise (docs/policy.md#files).
   */
  FILE_NOT_ALLOWED: { layer: 'policy', retryable: false },
  /** The verified requester's grants do not cover the verified source repository or the destination. */
  REQUESTER_NOT_ALLOWED: { layer: 'policy', retryable: false },
  /** An administrator revoked this artifact digest: it is never published again, under any tag. */
  REVOKED: { layer: 'policy', retryable: false },

  APPROVAL_REJECTED: { layer: 'approval', retryable: false },
  APPROVAL_EXPIRED: { layer: 'approval', retryable: false },
  APPROVER_NOT_ALLOWED: { layer: 'approval', retryable: false },
  /** Who asks or approves is not a verified identity (a bad or missing seal on the request or verdict). */
  IDENTITY_UNVERIFIED: { layer: 'approval', retryable: false },
  /**
   * A seal that verifies, presented for something it was not issued for: another request,
   * action or workflow, or a run after the one that consumed it (docs/security-model.md#one-credential-one-run).
   */
  SEAL_MISMATCH: { layer: 'approval', retryable: false },
  /**
   * A warning, not a denial: the workers count verdicts that carry no verified identity
   * (SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS); each is archived as `unverified:<typed name>`.
   */
  UNVERIFIED_APPROVALS: { layer: 'approval', retryable: false },
  /** The run was cancelled before it ended; its decision records that. */
  CANCELLED: { layer: 'cancellation', retryable: false },
  /** The run was terminated from Temporal before it ended; the reaper archived that end. */
  TERMINATED: { layer: 'cancellation', retryable: false },
  /** The run hit its Temporal execution or run timeout before it ended; the reaper archived that end. */
  TIMED_OUT: { layer: 'approval', retryable: false },

  /** The registry answered, and what it said will not change on retry (4xx, a bad manifest, TLS refused). */
  REGISTRY_ERROR: { layer: 'infrastructure', retryable: false },
  /** The registry did not answer, or was overloaded (network error, 429, 5xx, a Retry-After too long to wait). */
  REGISTRY_UNAVAILABLE: { layer: 'infrastructure', retryable: true },
  REGISTRY_AUTH: { layer: 'infrastructure', retryable: false },
  /** The drift notification receiver did not accept a notice (network error, non-2xx): retried durably. */
  DRIFT_NOTICE_UNDELIVERED: { layer: 'infrastructure', retryable: true },
  /** An attestor answered with something unusable, or is configured wrongly. */
  ATTESTOR_ERROR: { layer: 'infrastructure', retryable: false },
  /** An attestor (attestation store, git remote, registry) did not answer. */
  ATTESTOR_UNAVAILABLE: { layer: 'infrastructure', retryable: true },
  /** A conflicting record, an illegal transition, a stored document that fails its schema, refused credentials. */
  ARCHIVE_ERROR: { layer: 'infrastructure', retryable: false },
  /** No archive server reachable. (Driver errors mid-call are rethrown as they are and stay retryable.) */
  ARCHIVE_UNAVAILABLE: { layer: 'infrastructure', retryable: true },
  /** The TUF mirror for the Sigstore trusted root could not be reached or refreshed. */
  TRUST_ROOT_UNAVAILABLE: { layer: 'infrastructure', retryable: true },
  /** Temporal, or the worker that should take a query or an Update, did not answer in time. */
  TEMPORAL_UNAVAILABLE: { layer: 'infrastructure', retryable: true },

  /**
   * An error no code names, reported by its kind and a bounded first line, never its stack.
   * Not retried: a fault of the gate would fail again, and a publish denied on it is archived
   * rather than retried without end.
   */
  INTERNAL_ERROR: { layer: 'internal', retryable: false },
  /**
   * A verification worker thread of a bulk run (`audit verify`, `audit replay`, the drift
   * monitor) crashed or exited with work in hand: the run fails rather than drop that work.
   */
  VERIFY_WORKER_FAILED: { layer: 'internal', retryable: false },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Every error code, for schemas (`z.enum(ERROR_CODES)`). */
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

/** The codes of one layer. */
export type ErrorCodeOf<L extends ErrorLayer> = {
  [C in ErrorCode]: (typeof ERRORS)[C]['layer'] extends L ? C : never;
}[ErrorCode];

/** The codes a retry may cure. */
export type RetryableCode = {
  [C in ErrorCode]: (typeof ERRORS)[C]['retryable'] extends true ? C : never;
}[ErrorCode];

/** The layer a code belongs to. */
export function layerOf(code: ErrorCode): ErrorLayer {
  return ERRORS[code].layer;
}

/** Whether a failure with this code may pass when asked again. */
export function isRetryable(code: ErrorCode): boolean {
  return ERRORS[code].retryable;
}

/** Whether a string (a Temporal failure type, a stored code) is one of our codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** A coded failure. `detail` names what was wrong and where (a JSON path, a file, a field). */
export class GateError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GateError';
    this.code = code;
    this.detail = options?.detail;
  }

  /** The layer that raised it (from ERRORS). */
  get layer(): ErrorLayer {
    return layerOf(this.code);
  }

  /** Whether asking again may help (from ERRORS). */
  get retryable(): boolean {
    return isRetryable(this.code);
  }
}

export function isGateError(err: unknown): err is GateError {
  return err instanceof GateError;
}

/** Whether an error is one of ours whose code says that asking again may help. */
export function isRetryableError(err: unknown): boolean {
  return isGateError(err) && err.retryable;
}

/** How much of a message that is not ours (a library's, the system's) a coded error repeats. */
const FOREIGN_MESSAGE_CHARS = 300;

/**
 * One line of `text`, control characters blanked, at most `max` characters: what may be shown
 * of a message whose length and content the gate does not choose.
 */
export function boundedLine(text: string, max = FOREIGN_MESSAGE_CHARS): string {
  const line = (text.split(/\r?\n/, 1)[0] ?? '').replace(/\p{Cc}/gu, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Any thrown value that is not ours, as INTERNAL_ERROR naming its kind: no stack, no unbounded text. */
export function internalError(err: unknown): GateError<'INTERNAL_ERROR'> {
  const kind = err instanceof Error ? err.name : typeof err;
  const code = (err as { code?: unknown } | null)?.code;
  let message: string;
  try {
    message = err instanceof Error ? err.message : String(err);
  } catch {
    message = '(no message)';
  }
  const label = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? `${kind} ${code}` : kind;
  return new GateError('INTERNAL_ERROR', `${boundedLine(label, 80)}: ${boundedLine(message)}`, {
    detail: { kind: boundedLine(kind, 80) },
  });
}

/**
 * The attestor contract: a source of SLSA levels for one resource (a git revision, an
 * artifact, a package). Attestors fetch; trust in what they fetch is decided by
 * `vsa-trust.ts`, so every implementation answers with levels it has already checked.
 * Answers are plain JSON: they cross Temporal activity boundaries and go into the cache.
 */
import * as z from 'zod';
import { GateError, type ErrorCode } from '../core/errors.ts';
import { DigestSetSchema, ErrorCodeSchema } from '../core/model.ts';

const LevelSchema = z.number().int().min(0).max(4);

/** What an attestor is asked about. */
export const ResourceSchema = z.discriminatedUnion('kind', [
  /** A git revision: `repo` as builders write it (`git+https://host/owner/repo`), the commit and the ref it was built from. */
  z.strictObject({
    kind: z.literal('git'),
    repo: z.string().min(1),
    commit: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'expected a full git commit id'),
    ref: z.string().min(1),
  }),
  /** An artifact named by its digests, with its URI when the provenance gives one. */
  z.strictObject({
    kind: z.literal('artifact'),
    uri: z.string().min(1).optional(),
    digest: DigestSetSchema.refine((d) => Object.keys(d).length > 0, 'at least one digest'),
  }),
  /** A package URL (`pkg:npm/x@1.0.0`); `digest` when the provenance pins one. */
  z.strictObject({
    kind: z.literal('purl'),
    purl: z.string().startsWith('pkg:'),
    digest: DigestSetSchema.optional(),
  }),
]);
export type Resource = z.infer<typeof ResourceSchema>;

/** Levels per SLSA track. */
export const TrackLevelsSchema = z.strictObject({
  build: LevelSchema.optional(),
  source: LevelSchema.optional(),
});
export type TrackLevels = z.infer<typeof TrackLevelsSchema>;

/** One attestation an answer rests on: enough to archive it and to check it again later. */
export const AttestorEvidenceSchema = z.strictObject({
  /** `sha256:<hex>` of `raw`. */
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** Where it came from: `https://store/v1/attestations?...#2`, `git-notes:<repo>@<commit>:3`, `oci://…`, `archive:vsas/<id>`. */
  origin: z.string().min(1),
  /** base64 of the bytes as received (one bundle, one envelope, or a static file entry). */
  raw: z.string(),
  predicateType: z.string().optional(),
  /** The VSA's `verifier.id`, or `static:<file>` for the static levels file. */
  verifierId: z.string(),
  /** Which trust material verified the signature (`Signer.trustedBy`); absent for static entries. */
  trustedBy: z.string().optional(),
  /** Levels the attestation claims, and the levels it proves once capped by the verifier's trusted maximum. */
  claimed: TrackLevelsSchema,
  proven: TrackLevelsSchema,
});
export type AttestorEvidence = z.infer<typeof AttestorEvidenceSchema>;

/** How a level was established; carried into `LevelEvidence.method`, the decision and the issued VSA. */
export const LevelMethodSchema = z.enum(['vsa', 'static', 'archive']);
export type LevelMethod = z.infer<typeof LevelMethodSchema>;

/** Why an attestation was ignored or nothing was found: the code (src/core/errors.ts), where, and what. */
export const ReasonSchema = z.strictObject({
  code: ErrorCodeSchema,
  /** The attestor, URL, registry reference or archive record the reason is about. */
  origin: z.string(),
  message: z.string(),
});
export type Reason = z.infer<typeof ReasonSchema>;

/** A reason, in the shape every attestor reports. */
export function reasonOf(code: ErrorCode, origin: string, message: string): Reason {
  return { code, origin, message };
}

/** An attestor's answer. Reasons say why something was ignored or not found (fail closed: ignored proves nothing). */
export const AttestorAnswerSchema = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('found'),
    method: LevelMethodSchema,
    attestations: z.array(AttestorEvidenceSchema),
    levels: TrackLevelsSchema,
    reasons: z.array(ReasonSchema),
  }),
  z.strictObject({ status: z.literal('not-found'), reasons: z.array(ReasonSchema) }),
  /** The attestor knows the resource but has no answer yet (e.g. a source VSA still being computed). */
  z.strictObject({
    status: z.literal('pending'),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    reasons: z.array(ReasonSchema),
  }),
]);
export type AttestorAnswer = z.infer<typeof AttestorAnswerSchema>;

/** Hooks from the caller (a Temporal activity): cancellation and liveness. */
export interface LookupContext {
  signal?: AbortSignal;
  heartbeat?: (detail: unknown) => void;
}

/**
 * A source of levels. `lookup` resolves to an answer, or throws a GateError whose code says
 * whether asking again may help (ATTESTOR_UNAVAILABLE, REGISTRY_UNAVAILABLE: src/core/errors.ts).
 */
export interface Attestor {
  /** Unique among the configured attestors; part of the cache key. */
  readonly name: string;
  /** `sha256:<hex>` of everything that decides which answers this attestor trusts; part of the cache key. */
  readonly trustDigest: string;
  /**
   * Its answers are not kept in the level cache: the archive's, whose revocations count from
   * the next lookup on (docs/security-model.md#revocation); a local read costs little.
   */
  readonly uncached?: true;
  lookup(resource: Resource, ctx?: LookupContext): Promise<AttestorAnswer>;
}

/** A stable text key of a resource (digest algorithms sorted), for caches and de-duplication. */
export function resourceKey(resource: Resource): string {
  const digests = (d: Record<string, string> | undefined) =>
    Object.entries(d ?? {})
      .map(([alg, value]) => `${alg}:${value.toLowerCase()}`)
      .sort()
      .join(',');
  switch (resource.kind) {
    case 'git':
      return `git|${resource.repo}|${resource.commit}|${resource.ref}`;
    case 'artifact':
      return `artifact|${resource.uri ?? ''}|${digests(resource.digest)}`;
    case 'purl':
      return `purl|${resource.purl}|${digests(resource.digest)}`;
  }
}

/** A short human name of a resource for reasons. */
export function describeResource(resource: Resource): string {
  switch (resource.kind) {
    case 'git':
      return `${resource.repo}@${resource.commit} (${resource.ref})`;
    case 'artifact':
      return resource.uri ?? Object.entries(resource.digest).map(([a, v]) => `${a}:${v}`)[0] ?? '?';
    case 'purl':
      return resource.purl;
  }
}

/**
 * The error an attestor throws when it cannot answer: ATTESTOR_UNAVAILABLE when asking again
 * may help (it did not answer, or was overloaded), ATTESTOR_ERROR when it would fail again.
 */
export function attestorUnavailable(
  attestor: string,
  message: string,
  mayPassLater: boolean,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): GateError {
  return new GateError(
    mayPassLater ? 'ATTESTOR_UNAVAILABLE' : 'ATTESTOR_ERROR',
    `attestor ${attestor}: ${message}`,
    {
      detail: { attestor, ...extra },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

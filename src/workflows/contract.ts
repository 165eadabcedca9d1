/**
 * Inputs, results, queries and updates of the publishArtifact workflow. Plain JSON
 * only (Temporal payloads). The workflow imports these as types; the CLI, the API
 * and the activities validate with the schemas.
 */
import * as z from 'zod';
import {
  ArtifactKindSchema,
  CheckResultSchema,
  DEFAULT_ARTIFACT_KIND,
  OutcomeSchema,
  RejectionSchema,
  type ArtifactKind,
} from '../core/model.ts';
import { SealedIdentitySchema } from '../core/identity.ts';
import { NpmPinnedPackageSchema } from '../core/formats/npm/package-name.ts';
import { HOST, isRepositoryName, TAG } from '../registry/oci-names.ts';
import type { DecisionRecord } from '../archive/decision-record.ts';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>');
// Every field is bounded at the front door: an oversized field must not reach
// the policy step and then fail the decision record, leaving nothing archived.
const registryHost = z.string().max(255).regex(HOST, 'expected host[:port]');
const repositoryName = z
  .string()
  .refine(isRepositoryName, 'expected a repository name: lowercase path components, at most 255 characters');
const tagName = z.string().regex(TAG, 'expected a tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}');
/** Who asks or approves, for people reading the record; the verified identity travels sealed. */
export const DisplayNameSchema = z.string().trim().min(1).max(256);
/** Attestations travel in the workflow history, whose payloads Temporal caps at 2 MiB. */
export const MAX_INLINE_ATTESTATION_CHARS = 2_000_000;

/**
 * A candidate pinned to its digest: from here on only the digest is used. For an npm package
 * the digest is the tarball's sha256, `registry` the staging npm registry's host, `repository`
 * the package name without its `@` and `tag` its version (docs/policy.md#npm-packages).
 */
export const CandidateSchema = z
  .strictObject({
    /** Absent: a container image (requests made before kinds existed). */
    artifactKind: ArtifactKindSchema.optional(),
    /** Registry host[:port] as given in the reference. */
    registry: registryHost,
    repository: repositoryName,
    digest,
    mediaType: z.string().max(255),
    /** The tag the candidate was requested by, if any: kept for the record, never used to fetch. */
    tag: tagName.optional(),
    /**
     * An npm package candidate: the name and version it is fetched by from the staging
     * registry, and its tarball's sha512 (npm's `integrity`), pinned with the sha256 `digest`.
     */
    package: NpmPinnedPackageSchema.optional(),
  })
  .refine((c) => (c.artifactKind === 'npm-package') === (c.package !== undefined), {
    message: 'an npm-package candidate names its package, and only it does',
    path: ['package'],
  })
  .refine(
    (c) =>
      c.package === undefined ||
      (c.repository === npmRepositoryName(c.package.name) && c.tag === c.package.version),
    {
      message: 'an npm package candidate is its package: repository = name without @, tag = version',
      path: ['repository'],
    },
  );
export type Candidate = z.infer<typeof CandidateSchema>;

/**
 * A file artifact candidate (`oci-blob`): the OCI artifact in the staging repository, by digest.
 * `publish --file`, `publish --artifact` and the API's `artifact` all name theirs this way; the
 * worker holds the staged manifest to the shape the gate publishes (docs/policy.md#files).
 */
export function fileArtifactCandidate(
  staged: { registry: string; repository: string; tag?: string | undefined },
  digest: string,
  mediaType: string,
): Candidate {
  return {
    artifactKind: 'oci-blob',
    registry: staged.registry,
    repository: staged.repository,
    digest,
    mediaType,
    ...(staged.tag ? { tag: staged.tag } : {}),
  };
}

/** The repository an npm package is filed under (`@scope/name` → `scope/name`, as the decision records it). */
export function npmRepositoryName(name: string): string {
  return name.replace(/^@/, '');
}

/** The candidate's kind, a container image when the request names none. */
export function artifactKindOf(candidate: Pick<Candidate, 'artifactKind'>): ArtifactKind {
  return candidate.artifactKind ?? DEFAULT_ARTIFACT_KIND;
}

export const InlineAttestationSchema = z.strictObject({
  origin: z.string().min(1).max(1024),
  /** base64 of the raw attestation bytes. */
  raw: z.string().min(1).max(MAX_INLINE_ATTESTATION_CHARS),
});

export const PublishRequestSchema = z
  .strictObject({
    candidate: CandidateSchema,
    /** Release repository on the release registry, e.g. `release/app`. */
    releaseRegistry: registryHost,
    releaseRepository: repositoryName,
    /** Tag to give the published image (defaults to the candidate's tag). */
    releaseTag: tagName.optional(),
    /** Who asks, for display; `requesterIdentity` is who the API verified (absent: an operator's CLI). */
    requester: DisplayNameSchema,
    requesterIdentity: SealedIdentitySchema.optional(),
    // No policy field: the workflow evaluates only the operator's loaded policy.
    attestations: z.array(InlineAttestationSchema).max(64).default([]),
  })
  .refine(
    (r) =>
      r.candidate.package === undefined ||
      (r.releaseRepository === r.candidate.repository &&
        (r.releaseTag === undefined || r.releaseTag === r.candidate.tag)),
    {
      // An npm package is published under its own name and version: the release registry is the
      // only destination a request chooses (docs/policy.md#npm-packages).
      message: 'an npm package is released under its own name and version',
      path: ['releaseRepository'],
    },
  );
export type PublishRequest = z.input<typeof PublishRequestSchema>;

export const PublishStatusSchema = z.enum([
  'Resolving',
  'FetchingAttestations',
  'Verifying',
  'WaitingForAttestations',
  'Evaluating',
  'AwaitingApproval',
  'Publishing',
  'Published',
  'Denied',
  'Cancelled',
]);
export type PublishStatus = z.infer<typeof PublishStatusSchema>;

/** The statuses a run ends in. */
export const END_STATUSES: readonly PublishStatus[] = ['Published', 'Denied', 'Cancelled'];
export const isEnd = (status: PublishStatus): boolean => END_STATUSES.includes(status);

export const ApprovalSchema = z.strictObject({
  /** For display; who approved is `identity`, sealed by the API after authenticating the caller. */
  approver: DisplayNameSchema,
  reason: z.string().trim().min(1).max(4096),
  identity: SealedIdentitySchema.optional(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

/**
 * A verdict that counted, as results and progress show it: who (the verified id, or
 * `unverified:<typed name>`), why, when, whether the API verified the sender, and the group
 * that allowed it. No seal: anyone with `publish` or `audit:read` reads progress.
 */
export const VerdictSchema = z.strictObject({
  approver: z.string(),
  reason: z.string(),
  verdict: z.enum(['approve', 'reject']),
  at: z.string(),
  /** Absent on results recorded before verification was shown. */
  verified: z.boolean().optional(),
  group: z.string().optional(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

/** How far the approval is: how many distinct approvers the rule needs, and the verdicts given. */
export const ApprovalProgressSchema = z.strictObject({
  required: z.number().int().positive(),
  given: z.array(VerdictSchema),
});
export type ApprovalProgress = z.infer<typeof ApprovalProgressSchema>;

export const PublishResultSchema = z.strictObject({
  status: z.enum(['PUBLISHED', 'DENIED', 'CANCELLED']),
  decisionId: z.string(),
  outcome: OutcomeSchema,
  candidate: CandidateSchema,
  /** The first failing check's code, or the approval/denial code. */
  code: z.string().optional(),
  reason: z.string(),
  checks: z.array(CheckResultSchema),
  /** Every attestation presented that did not count, with its code (none: absent). */
  rejected: z.array(RejectionSchema).optional(),
  policyDigest: z.string().optional(),
  policyVersion: z.number().int().positive().optional(),
  /** Set when the artifact was already published there: the first decision is returned, nothing is signed again. */
  alreadyPublished: z.boolean().optional(),
  published: z.strictObject({ reference: z.string(), digest, vsaDigest: digest.optional() }).optional(),
  /** The verdict that decided: the last approval of the quorum, or the reject. */
  approval: VerdictSchema.optional(),
  approvals: ApprovalProgressSchema.optional(),
});
export type PublishResult = z.infer<typeof PublishResultSchema>;

export const PublishProgressSchema = z.strictObject({
  status: PublishStatusSchema,
  outcome: OutcomeSchema.optional(),
  checks: z.array(CheckResultSchema),
  decisionId: z.string().optional(),
  /** The digest of the run's request once admitted: what a verdict's seal is bound to. */
  requestDigest: digest.optional(),
  approvalDeadline: z.string().optional(),
  approvals: ApprovalProgressSchema.optional(),
  result: PublishResultSchema.optional(),
});
export type PublishProgress = z.infer<typeof PublishProgressSchema>;

/**
 * The publish run's memo, which clients read with the run's description (no worker involved):
 * how the run ended, and while it awaits approval the deadline, the quorum and the request
 * digest a verdict's seal binds (docs/security-model.md#waiting-for-a-publish).
 */
export const PublishMemoSchema = z.looseObject({
  outcome: PublishStatusSchema.optional(),
  code: z.string().optional(),
  artifactKind: ArtifactKindSchema.optional(),
  approvalDeadline: z.string().optional(),
  approvalsRequired: z.number().int().positive().optional(),
  requestDigest: digest.optional(),
});
export type PublishMemo = z.infer<typeof PublishMemoSchema>;

/**
 * What a request publishes, as the `publications` record keys it: the release repository
 * (`registry/repository`), the candidate's digest and the tag it is published under (the
 * release tag, else the candidate's; none: an untagged publish). One publish per key: the
 * workflow, the API and the CLI all ask the archive with this key before anything starts.
 */
export function publicationOf(
  request: Pick<PublishRequest, 'candidate' | 'releaseRegistry' | 'releaseRepository' | 'releaseTag'>,
): {
  repository: string;
  digest: string;
  tag?: string;
} {
  const tag = request.releaseTag ?? request.candidate.tag;
  return {
    repository: `${request.releaseRegistry}/${request.releaseRepository}`,
    digest: request.candidate.digest,
    ...(tag ? { tag } : {}),
  };
}

/** The decision that already published a request's artifact at its destination, as the publish's result. */
export function alreadyPublishedResult(
  decision: Pick<DecisionRecord, '_id' | 'outcome' | 'checks' | 'policy'> & {
    published: NonNullable<DecisionRecord['published']>;
  },
  candidate: Candidate,
): PublishResult {
  const { published } = decision;
  return {
    status: 'PUBLISHED',
    decisionId: decision._id,
    outcome: decision.outcome,
    candidate,
    reason: 'already published: the first decision stands',
    checks: decision.checks.map((c) => ({ ...c, evidence: c.evidence ?? [] })),
    policyDigest: decision.policy.digest,
    ...(decision.policy.version ? { policyVersion: decision.policy.version } : {}),
    alreadyPublished: true,
    published: {
      reference: `${published.repository}${published.tag ? `:${published.tag}` : ''}@${published.digest}`,
      digest: published.digest,
      ...(published.vsaDigest ? { vsaDigest: published.vsaDigest } : {}),
    },
  };
}

/** `publish:<release registry>/<release repository>@<digest>`: one workflow per artifact and destination. */
export function publishWorkflowId(
  releaseRegistry: string,
  releaseRepository: string,
  digest: string,
): string {
  return `publish:${releaseRegistry}/${releaseRepository}@${digest}`;
}

export const TASK_QUEUE = 'slsa-gate-publish';

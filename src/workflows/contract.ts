/**
 * Inputs, results, queries and updates of the publishArtifact workflow. Plain JSON
 * only (Temporal payloads). The workflow imports these as types; the CLI, the API
 * and the activities validate with the schemas.
 */
import { z } from 'zod';
import { CheckResultSchema, OutcomeSchema } from '../core/model.ts';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>');

/** A candidate pinned to its manifest digest: from here on only the digest is used. */
export const CandidateSchema = z.strictObject({
  /** Registry host[:port] as given in the reference. */
  registry: z.string().min(1),
  repository: z.string().min(1),
  digest,
  mediaType: z.string(),
  /** The tag the candidate was requested by, if any: kept for the record, never used to fetch. */
  tag: z.string().optional(),
});
export type Candidate = z.infer<typeof CandidateSchema>;

export const InlineAttestationSchema = z.strictObject({
  origin: z.string().min(1),
  /** base64 of the raw attestation bytes. */
  raw: z.string().min(1),
});

export const PublishRequestSchema = z.strictObject({
  candidate: CandidateSchema,
  /** Release repository on the release registry, e.g. `release/app`. */
  releaseRegistry: z.string().min(1),
  releaseRepository: z.string().min(1),
  /** Tag to give the published image (defaults to the candidate's tag). */
  releaseTag: z.string().optional(),
  requester: z.string().min(1),
  /** Policy text (YAML or JSON); when absent the worker's configured policy applies. */
  policy: z.strictObject({ text: z.string().min(1), origin: z.string() }).optional(),
  attestations: z.array(InlineAttestationSchema).max(1000).default([]),
});
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
]);
export type PublishStatus = z.infer<typeof PublishStatusSchema>;

export const ApprovalSchema = z.strictObject({
  approver: z.string().min(1),
  reason: z.string().min(1),
});
export type Approval = z.infer<typeof ApprovalSchema>;

export const PublishResultSchema = z.strictObject({
  status: z.enum(['PUBLISHED', 'DENIED']),
  decisionId: z.string(),
  outcome: OutcomeSchema,
  candidate: CandidateSchema,
  /** The first failing check's code, or the approval/denial code. */
  code: z.string().optional(),
  reason: z.string(),
  checks: z.array(CheckResultSchema),
  policyDigest: z.string().optional(),
  published: z.strictObject({ reference: z.string(), digest, vsaDigest: digest.optional() }).optional(),
  approval: z
    .strictObject({
      approver: z.string(),
      reason: z.string(),
      verdict: z.enum(['approve', 'reject']),
      at: z.string(),
    })
    .optional(),
});
export type PublishResult = z.infer<typeof PublishResultSchema>;

export const PublishProgressSchema = z.strictObject({
  status: PublishStatusSchema,
  outcome: OutcomeSchema.optional(),
  checks: z.array(CheckResultSchema),
  decisionId: z.string().optional(),
  approvalDeadline: z.string().optional(),
  result: PublishResultSchema.optional(),
});
export type PublishProgress = z.infer<typeof PublishProgressSchema>;

/** `publish:<release registry>/<release repository>@<digest>`: one workflow per artifact and destination. */
export function publishWorkflowId(
  releaseRegistry: string,
  releaseRepository: string,
  digest: string,
): string {
  return `publish:${releaseRegistry}/${releaseRepository}@${digest}`;
}

export const TASK_QUEUE = 'slsa-gate-publish';

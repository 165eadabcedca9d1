/**
 * Input and result of the revokeDigest workflow. Plain JSON only (Temporal payloads); the
 * workflow imports these as types, the CLI and the API validate with the schemas.
 */
import * as z from 'zod';
import { SealedIdentitySchema } from '../core/identity.ts';
import { CandidateSchema, DisplayNameSchema } from './contract.ts';

const digest = CandidateSchema.shape.digest;

export const RevokeRequestSchema = z.strictObject({
  /** The artifact digest to revoke, everywhere it was published and for good. */
  digest,
  reason: z.string().trim().min(1).max(4096),
  /** Who asks, for display; who revoked is `identity` when the API verified and sealed it. */
  requestedBy: DisplayNameSchema,
  identity: SealedIdentitySchema.optional(),
});
export type RevokeRequest = z.input<typeof RevokeRequestSchema>;

/**
 * The part of a revocation request its identity seal binds (by `requestDigestOf`): the digest,
 * the reason and the display name. A seal moved onto another digest or reason fails.
 */
export function unsealedRevokeRequest(request: RevokeRequest) {
  return { digest: request.digest, reason: request.reason, requestedBy: request.requestedBy };
}

/** What a revocation did in one release repository the gate had published the digest to. */
export const RevokedReleaseSchema = z.strictObject({
  /** `host/repository`. */
  repository: z.string(),
  /** The newest decision that published the digest there: the FAILED VSA is archived under it. */
  decisionId: z.string(),
  /** The FAILED VSA attached to the digest there. */
  vsaDigest: digest,
  /** Release tags moved from the digest to its revocation notice. */
  moved: z.array(z.strictObject({ tag: z.string(), notice: digest })),
  /** Release tags the gate had published the digest under that name something else now: left alone. */
  untouched: z.array(z.strictObject({ tag: z.string(), digest })),
});

export const RevokeResultSchema = z.strictObject({
  digest,
  /** The revocation that stands: the first one recorded for the digest. */
  revocation: z.strictObject({
    by: z.string(),
    verified: z.boolean(),
    reason: z.string(),
    at: z.string(),
    workflowId: z.string(),
    runId: z.string(),
  }),
  /** False when the digest was already revoked: that first revocation stands, nothing new is recorded. */
  recorded: z.boolean(),
  releases: z.array(RevokedReleaseSchema),
});
export type RevokeResult = z.infer<typeof RevokeResultSchema>;

/** `revoke:<digest>`: one revocation workflow per digest; running it again changes nothing. */
export function revokeWorkflowId(digest: string): string {
  return `revoke:${digest}`;
}

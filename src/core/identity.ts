/**
 * Verified identities as they travel from the API to the publish workflow. Temporal carries
 * no caller identity an attacker cannot type (an Update from the Temporal UI is free JSON), so
 * the API, after authenticating the caller, seals what it verified with an HMAC key it shares
 * only with the workers (SLSA_GATE_IDENTITY_KEY). The worker checks the seal in an activity:
 * an identity without a valid seal for this workflow and this purpose is not an identity.
 * Schemas only, no Node modules: the workflow validates requests with them
 * (the seal itself is made and checked in identity-seal.ts).
 */
import * as z from 'zod';
import { AnchoredPatternSchema } from './policy/anchored-pattern.ts';

/** An exact value, or an anchored `^…$` pattern that compiles. */
const exactOrAnchored = z
  .string()
  .min(1)
  .max(512)
  .refine((v) => !v.startsWith('^') || AnchoredPatternSchema.safeParse(v).success, {
    message: 'a pattern must be anchored (^…$) and compile',
  });

/**
 * What a grant lets a requester publish (docs/security-model.md#what-a-requester-may-publish):
 * builds of these source repositories, matched against the *verified* provenance's source,
 * to these release repositories.
 */
export const PublishGrantSchema = z.strictObject({
  /**
   * Source repositories as the policy names them (`github.com/owner/repo`,
   * `git+https://host/owner/repo`, `github.com/owner/*`), or an anchored `^…$` pattern over
   * the provenance's source URI.
   */
  sources: z.array(exactOrAnchored).min(1).max(256),
  /** Release repositories (`host/repository`, exact or anchored `^…$`); absent: those the policy's rule names. */
  destinations: z.array(exactOrAnchored).min(1).max(256).optional(),
});
export type PublishGrant = z.infer<typeof PublishGrantSchema>;

/**
 * An approver group's name, as the operator writes it in the API's token configuration and in
 * a rule's `approvals.from`.
 */
export const GroupNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a group name: letters, digits, ".", "_", "-"');

/** Who the API verified a caller to be. Compare two with samePrincipal, never by `id` or `name`. */
export const IdentitySchema = z.strictObject({
  kind: z.enum(['token', 'oidc']),
  /** `token:<name>` or `<issuer>#<sub>`: what the archive records. */
  id: z.string().min(1).max(1024),
  /** For people reading the record: the token's name, the verified email, the CI repository. */
  name: z.string().min(1).max(256),
  /** OIDC identities: the issuer, which scopes the ids below. */
  issuer: z.string().min(1).max(512).optional(),
  /** GitHub Actions tokens: the repository whose workflow asked (`owner/name`). */
  repository: z.string().min(1).max(256).optional(),
  /**
   * GitHub Actions tokens: `repository_id` and `repository_owner_id`, numeric ids that stay
   * when the repository is renamed or transferred and do not change with the branch, as
   * `sub` and `repository` do.
   */
  repositoryId: z.string().min(1).max(64).optional(),
  repositoryOwnerId: z.string().min(1).max(64).optional(),
  /** A requester: what its grants let it publish (any one entry suffices); none: nothing. */
  mayPublish: z.array(PublishGrantSchema).max(64).optional(),
  /**
   * The approver groups the API's configuration puts this identity in (exact verified claims
   * or a hashed token's entry, never a name the caller sends): what a rule's `approvals.from` reads.
   */
  groups: z.array(GroupNameSchema).max(64).optional(),
});
export type Identity = z.infer<typeof IdentitySchema>;

/**
 * Whether two verified identities are the same party, for the two-person rule and for
 * counting distinct approvers: the same `id`, or, for GitHub Actions identities of one
 * issuer, the same repository or the same owner by numeric id. So one repository cannot
 * approve its own request from another branch, after a rename or a transfer, nor from a
 * sibling repository of the same owner (docs/security-model.md#who-is-the-same-party).
 */
export function samePrincipal(a: Identity, b: Identity): boolean {
  if (a.id === b.id) return true;
  if (a.issuer === undefined || a.issuer !== b.issuer) return false;
  const sameRepository = a.repositoryId !== undefined && a.repositoryId === b.repositoryId;
  const sameOwner = a.repositoryOwnerId !== undefined && a.repositoryOwnerId === b.repositoryOwnerId;
  return sameRepository || sameOwner;
}

/**
 * What a seal vouches for: this identity, for this action on this workflow, for this request
 * (and, for a verdict, this run), at this time (docs/security-model.md#one-credential-one-run).
 */
export const SealedIdentitySchema = z.strictObject({
  identity: IdentitySchema,
  purpose: z.enum(['request', 'approve', 'reject', 'revoke']),
  workflowId: z.string().min(1).max(1024),
  /**
   * The run a verdict is for. A workflow id names a destination and a digest, not a decision:
   * the same digest requested again for another tag is a new run under the same id, and an
   * approval sealed for the first run must not count there.
   */
  runId: z.string().min(1).max(128).optional(),
  /**
   * `sha256:<hex>` of the request the seal authorises (requestDigestOf): what gets published
   * and from where. A seal moved onto another tag, staging repository or attestations fails it.
   */
  requestDigest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional(),
  /**
   * A request seal's random nonce (128 bits, hex). The run that first presents the seal
   * consumes it in the archive: a second run under the same workflow id with the same seal is
   * refused. The API cannot seal the run id of a run Temporal has not started yet.
   */
  nonce: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  issuedAt: z.iso.datetime(),
  /** HMAC-SHA256 (hex) over the canonical JSON of the other fields. */
  seal: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SealedIdentity = z.infer<typeof SealedIdentitySchema>;

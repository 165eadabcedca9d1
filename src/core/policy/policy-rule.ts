/**
 * One rule: what must be true of an artifact's attestations before it may be published.
 * Shared by the policy file (policy-file.ts) and slsa-verifier-style flags (verifier-flags.ts).
 * Strict: a typo in a policy fails instead of silently weakening it.
 */
import * as z from 'zod';
import { GateError } from '../errors.ts';
import { GroupNameSchema } from '../identity.ts';
import { AnchoredPatternSchema, ExactOrAnchoredSchema } from './anchored-pattern.ts';

/** ISO-8601 duration in days, hours, minutes and seconds (`P2D`, `PT24H`, `P1DT30M`): one parse for schema and seconds. */
const ISO_DURATION = /^P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** A signer the rule accepts. Every field given must match (all-of); the rule lists alternatives (any-of). */
export const IdentitySchema = z.strictObject({
  /** Exact OIDC issuer of the certificate. */
  issuer: z.string().min(1).optional(),
  /** Exact certificate SAN. */
  subject: z.string().min(1).optional(),
  /** Anchored (`^…$`) pattern for the SAN; never an unanchored regex (docs/checklist.md#row-11). */
  subjectPattern: AnchoredPatternSchema.optional(),
  /** GitHub owner: the certificate's Source Repository Owner URI is `https://github.com/<owner>`. */
  owner: z.string().min(1).optional(),
  /** GitHub `owner/name`: the certificate's Source Repository URI is `https://github.com/<repo>`. */
  repo: z.string().min(1).optional(),
  /** Source Repository Owner Identifier (OID …57264.1.17): survives a re-created owner (docs/checklist.md#row-13). */
  ownerId: z.string().min(1).optional(),
  /** Source Repository Identifier (OID …57264.1.15). */
  repoId: z.string().min(1).optional(),
  /** `owner/name` of the repository holding the signing (reusable) workflow. */
  signerRepo: z.string().min(1).optional(),
  /** `owner/name/path/to/workflow.yml` of the signing workflow, any ref. */
  signerWorkflow: z.string().min(1).optional(),
  /** Key id (or key hint) for key signatures. */
  keyId: z.string().min(1).optional(),
});
export type Identity = z.infer<typeof IdentitySchema>;

/** A dependency that may stay below the minimum level, for a reason, until it expires. */
export const DependencyExceptionSchema = z.strictObject({
  /** Exact dependency URI (or name), or an anchored `^…$` pattern over it. */
  pattern: ExactOrAnchoredSchema,
  reason: z.string().min(1),
  /** ISO-8601 time after which the exception no longer applies. */
  expires: z.iso.datetime({ offset: true }),
  /** Using the exception needs a person's approval (outcome NEEDS_APPROVAL). */
  requireApproval: z.boolean().default(false),
});
export type DependencyException = z.infer<typeof DependencyExceptionSchema>;

export const SourceExpectationSchema = z.strictObject({
  /** `github.com/owner/repo`, `git+https://github.com/owner/repo`, or `github.com/owner/*` (any repo of that owner). */
  repos: z.array(z.string().min(1)).default([]),
  /** Exact branch names (`main`), compared with `refs/heads/<name>`. */
  branches: z.array(z.string().min(1)).optional(),
  /** Exact tags (`v1.2.3`), compared with `refs/tags/<name>` (slsa-verifier --source-tag). */
  tags: z.array(z.string().min(1)).optional(),
  /** `vX[.Y[.Z]]` semver prefix (slsa-verifier --source-versioned-tag). */
  versionedTag: z
    .string()
    .regex(/^v\d+(\.\d+(\.\d+(-[0-9A-Za-z.-]+)?)?)?(\+[0-9A-Za-z.-]+)?$/)
    .optional(),
  /** Minimum SLSA Source level, from the source evidence handed to evaluate. */
  minLevel: z.number().int().min(0).max(4).default(0),
});

export const EntrypointExpectationSchema = z.strictObject({
  buildTypes: z.array(z.string().min(1)).optional(),
  entryPoints: z.array(z.string().min(1)).optional(),
  /** Workflow inputs that must be recorded with exactly these values (slsa-verifier --build-workflow-input). */
  workflowInputs: z.record(z.string(), z.string()).optional(),
  /** Accept external parameters outside the known buildType's schema, and unknown buildTypes. */
  allowUnknownParameters: z.boolean().default(false),
});

export const PolicyRuleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  /** Artifact names this rule covers: exact (`127.0.0.1:5000/team/app`, `pkg:npm/name`) or anchored `^…$`. */
  artifacts: z.array(ExactOrAnchoredSchema).default([]),
  /** Signers accepted (any-of). Empty: the builder trust map alone decides who may sign. */
  identities: z.array(IdentitySchema).default([]),
  /** A SLSA provenance must be present and pass every provenance check. */
  requireProvenance: z.boolean().default(true),
  /** SLSA provenance predicate types accepted (default: v0.1, v0.2 and v1). */
  provenancePredicateTypes: z.array(z.string().min(1)).optional(),
  /** The builder must be trusted by the trust map (else the rule must pin builders and identities). */
  requireTrustedBuilder: z.boolean().default(true),
  /** Expected builder ids (any-of), `name` or `name@version` (`@vX.Y.Z` and `@refs/tags/vX.Y.Z` are equal). */
  builders: z
    .array(
      z
        .string()
        .min(1)
        .refine(
          (b) => !/[*^$]/.test(b),
          'builder ids compare exactly: `*`, `^` and `$` are not wildcards here; name the builder',
        ),
    )
    .default([]),
  /** A builder id must be named (slsa-verifier requires one for npm packages and GitHub attestations). */
  requireBuilderId: z.boolean().default(false),
  minBuildLevel: z.number().int().min(0).max(3).default(0),
  source: SourceExpectationSchema.optional(),
  entrypoint: EntrypointExpectationSchema.default({ allowUnknownParameters: false }),
  dependencies: z
    .strictObject({
      minLevel: z.number().int().min(0).max(4),
      exceptions: z.array(DependencyExceptionSchema).default([]),
    })
    .optional(),
  /** npm package name and version, from the npm publish attestation's subject purl. */
  package: z
    .strictObject({ name: z.string().min(1).optional(), version: z.string().min(1).optional() })
    .optional(),
  /** A VSA given as input must carry these facts. */
  vsa: z
    .strictObject({
      verifierId: z.string().min(1).optional(),
      resourceUri: z.string().min(1).optional(),
      verifiedLevels: z.array(z.string().min(1)).optional(),
      /**
       * Who may sign the VSA; defaults to the rule's identities when the rule needs no provenance.
       * An empty list names nobody and is refused: it never means every configured key.
       */
      identities: z.array(IdentitySchema).min(1).optional(),
    })
    .optional(),
  /**
   * Sigstore bundle v0.1: `reject` (gh attestation policy), `require-inclusion-proof`, or
   * `accept` (a signed entry timestamp suffices, as sigstore-conformance allows).
   */
  bundleV01: z.enum(['reject', 'require-inclusion-proof', 'accept']).default('require-inclusion-proof'),
  /**
   * Where this rule's artifacts may be published: release repositories
   * (`host/path`, exact or anchored `^…$`) and tags (`source-tag`: the semver tag the
   * provenance was built from; else exact or anchored). No `release`: published nowhere.
   */
  release: z
    .strictObject({
      destinations: z.array(ExactOrAnchoredSchema).min(1),
      tags: z.array(ExactOrAnchoredSchema).default(['source-tag']),
    })
    .optional(),
  /**
   * Files this rule publishes as OCI artifacts (docs/policy.md#files), by file name: exact or
   * anchored `^…$`. No `files`: the rule publishes no file (a missing expectation is not "any").
   */
  files: z.strictObject({ names: z.array(ExactOrAnchoredSchema).min(1) }).optional(),
  /** Even when every check passes, a person must approve (outcome NEEDS_APPROVAL). */
  approvalRequired: z.boolean().default(false),
  /**
   * Who may approve or reject for this rule: verified identities as the API records them
   * (`token:<name>`, `<issuer>#<sub>`), exact or anchored `^…$`. Absent: any identity the
   * operator granted the `approve` scope.
   */
  approvers: z.array(ExactOrAnchoredSchema).min(1).optional(),
  /**
   * Approval by a quorum (docs/security-model.md#approvals): `required` distinct verified
   * approvers, none of them the requester, each a member of one of the `from` groups (groups
   * are defined in the API's token configuration; absent: any approver). Implies
   * `approvalRequired`.
   */
  approvals: z
    .strictObject({
      required: z.number().int().min(1).max(16),
      from: z.array(GroupNameSchema).min(1).optional(),
    })
    .optional(),
  /** Approval by one verified approver other than the verified requester: `approvals: {required: 1}` without groups. */
  twoPersonRule: z.boolean().default(false),
  /**
   * Accept the pins policy-breadth.ts finds broad (an unrelated project could satisfy them):
   * each is then a warning instead of POLICY_TOO_BROAD (docs/policy.md#breadth-policy_too_broad).
   * No default, so policies without it keep their digest.
   */
  allowBroad: z.boolean().optional(),
  /** How long an approval may take (ISO-8601 duration, e.g. `PT24H`); then the request expires. */
  approvalDeadline: z.string().regex(ISO_DURATION, 'an ISO-8601 duration like PT24H or P2D').optional(),
});
export type PolicyRule = z.infer<typeof PolicyRuleSchema>;

/** `PT24H`, `P2D`, `PT90S` → seconds; the string has passed the schema's ISO_DURATION. */
export function durationSeconds(iso: string): number {
  const m = ISO_DURATION.exec(iso);
  if (m === null) throw new GateError('POLICY_INVALID', `${iso} is not an ISO-8601 duration`);
  const [d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number];
  return ((d * 24 + h) * 60 + min) * 60 + s;
}
/** A rule as written, before defaults are applied. */
export type PolicyRuleInput = z.input<typeof PolicyRuleSchema>;

/** Levels of sources and dependencies, resolved elsewhere (VSAs, static config, the archive) and handed in. */
export const LevelEvidenceSchema = z.strictObject({
  sources: z
    .array(
      z.strictObject({
        repo: z.string(),
        commit: z.string(),
        refs: z.array(z.string()),
        level: z.number().int().min(0).max(4),
        evidence: z.array(z.string()),
        method: z.enum(['vsa', 'static']),
      }),
    )
    .optional(),
  dependencies: z
    .array(
      z.strictObject({
        uri: z.string().optional(),
        digest: z.record(z.string(), z.string()),
        level: z.number().int().min(0).max(4),
        evidence: z.array(z.string()),
        method: z.enum(['vsa', 'static', 'archive']),
      }),
    )
    .optional(),
});
export type LevelEvidence = z.infer<typeof LevelEvidenceSchema>;

import * as z from 'zod';
import { NpmPinnedPackageSchema } from '../core/formats/npm/package-name.ts';
import { ArtifactKindSchema, CheckResultSchema, OutcomeSchema, RejectionSchema } from '../core/model.ts';
import { IsoDateSchema, NameSchema, SafeKeySchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';
import { ExceptionInputSchema } from './exception-record.ts';
import { DecisionStatusSchema } from './lifecycle.ts';

const ArtifactSchema = z.strictObject({
  /** Stored for every kind but a container image: records without one are images (src/core/model.ts). */
  kind: ArtifactKindSchema.exclude(['container-image']).optional(),
  repository: NameSchema,
  tag: NameSchema.optional(),
  digest: Sha256DigestSchema,
  uri: NameSchema.optional(),
  /**
   * A file artifact's file: its name and the layer sha256 its provenance subject was checked
   * against, which `audit replay` checks again (the manifest `digest` is what was published).
   */
  file: z.strictObject({ name: NameSchema, digest: Sha256DigestSchema }).optional(),
  /**
   * An npm package's name, version and tarball sha512: what its provenance and npm publish
   * attestation bind and the package guard holds them to, which `audit replay` checks again.
   * Stored only for npm packages, so every other record (and its content digest) is unchanged.
   */
  package: NpmPinnedPackageSchema.optional(),
});

const PolicyRefSchema = z.strictObject({
  digest: Sha256DigestSchema,
  uri: NameSchema.optional(),
  /** The operator's policy version the decision was made under (`slsa-gate policy history`). */
  version: z.number().int().positive().optional(),
});
const BuilderSchema = z.strictObject({ id: NameSchema, version: NameSchema.optional() });
const SourceSchema = z.strictObject({
  repo: NameSchema.optional(),
  commit: NameSchema.optional(),
  ref: NameSchema.optional(),
});
/**
 * Milliseconds spent per workflow step, by step name, as the workflow's clock measured them
 * (retries and waits included): the steps up to the decision on the decision, the steps after
 * it (approval wait, copy, VSA) on `published`.
 */
const TimingsSchema = z.record(SafeKeySchema, z.number().nonnegative());

/** What the publish workflow hands to `recordDecision` (plain JSON). */
export const DecisionInputSchema = z.strictObject({
  /** Caller-given and stable across retries: the workflow uses `<workflowId>` + run id. */
  decisionId: NameSchema,
  workflowId: NameSchema,
  runId: NameSchema,
  artifact: ArtifactSchema,
  requester: NameSchema,
  checks: z.array(CheckResultSchema),
  outcome: OutcomeSchema,
  policy: PolicyRefSchema,
  builder: BuilderSchema.optional(),
  source: SourceSchema.optional(),
  /** Digests of every attestation (and consumed VSA) the decision was made on. */
  attestationDigests: z.array(Sha256DigestSchema),
  /** Every attestation presented that did not count, with its code. */
  rejected: z.array(RejectionSchema).default([]),
  exceptions: z.array(ExceptionInputSchema).default([]),
  requestedAt: z.iso.datetime({ offset: true }).optional(),
  decidedAt: z.iso.datetime({ offset: true }),
  timings: TimingsSchema.default({}),
});
export type DecisionInput = z.input<typeof DecisionInputSchema>;

/** Where and what was published (set once, by `markPublished`). */
export const PublishedInputSchema = z.strictObject({
  repository: NameSchema,
  digest: Sha256DigestSchema,
  tag: NameSchema.optional(),
  vsaDigest: Sha256DigestSchema.optional(),
  at: z.iso.datetime({ offset: true }),
  timings: TimingsSchema.optional(),
});
export type PublishedInput = z.input<typeof PublishedInputSchema>;

/**
 * The stored decision. Everything but `status`, `statusAt` and `published` is immutable;
 * `contentDigest` covers exactly the immutable part so a retry can be compared with
 * what is stored and `verifyIntegrity` can detect an edited record.
 */
export const DecisionDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  workflowId: NameSchema,
  runId: NameSchema,
  artifact: ArtifactSchema,
  requester: NameSchema,
  checks: z.array(CheckResultSchema),
  /** Codes of the FAILed checks, denormalised for the `failingCode` filter and its index. */
  failingCodes: z.array(z.string()),
  /** Ids of the FAILed checks: FerretDB 1.x has no `$elemMatch` over fields of array elements. */
  failingChecks: z.array(z.string()),
  outcome: OutcomeSchema,
  policy: PolicyRefSchema,
  builder: BuilderSchema.optional(),
  source: SourceSchema.optional(),
  attestationDigests: z.array(Sha256DigestSchema),
  /**
   * Every attestation presented that did not count, with its code; stored when there is one,
   * so a decision without any (and every decision archived before the field) has none.
   */
  rejected: z.array(RejectionSchema).optional(),
  evidenceDigest: Sha256DigestSchema,
  exceptionCount: z.number().int().nonnegative(),
  requestedAt: IsoDateSchema.optional(),
  decidedAt: IsoDateSchema,
  /** UTC day of `decidedAt` (`YYYY-MM-DD`): FerretDB 1.x has no `$dateToString` for stats by day. */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  timings: TimingsSchema,
  contentDigest: Sha256DigestSchema,
  status: DecisionStatusSchema,
  statusAt: IsoDateSchema,
  published: z
    .strictObject({
      repository: NameSchema,
      digest: Sha256DigestSchema,
      tag: NameSchema.optional(),
      vsaDigest: Sha256DigestSchema.optional(),
      at: IsoDateSchema,
      timings: TimingsSchema.optional(),
    })
    .optional(),
});
export type DecisionDoc = z.output<typeof DecisionDocSchema>;
/** A decision as plain JSON (what `getDecision` and the audit queries return). */
export type DecisionRecord = z.input<typeof DecisionDocSchema>;

/** The fields `contentDigest` does not cover: the lifecycle. */
export const MUTABLE_DECISION_FIELDS = ['status', 'statusAt', 'published', 'contentDigest'] as const;

import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/** Why a release repository is drift: it serves what the gate did not publish there, or it cannot be checked. */
export const DriftKindSchema = z.enum([
  /** No decision of this gate published the digest to this repository (pushed around the gate). */
  'unpublished-digest',
  /** The gate published the digest here, but no VSA it signed verifies on it now. */
  'no-valid-vsa',
  /** The gate published another digest under this tag last (retagged, or rolled back by hand). */
  'tag-moved',
  /** The digest was revoked, or the tag is the revocation notice the gate moved it to. */
  'revoked',
  /** The repository could not be read: nothing in it was checked (the code says why). */
  'unreadable',
]);
export type DriftKind = z.infer<typeof DriftKindSchema>;

/**
 * A standing drift finding of the release monitor, archived once and updated by every run
 * that sees it again (docs/consumers.md#the-drift-monitor). `_id` is `driftId(...)`: where it
 * was found (repository, tag or none for a digest served untagged), what (digest), and why
 * (kind, and the error code of an `unreadable` repository). `workflowId`, `runId` and `at`
 * name the run that saw it last; records archived before the count have no `firstSeen`.
 */
export const DriftDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** `host/repository`. */
  repository: NameSchema,
  /** The tag naming the digest; absent for a digest served by digest only, and for `unreadable`. */
  tag: NameSchema.optional(),
  /** What the repository serves; absent for `unreadable`. */
  digest: Sha256DigestSchema.optional(),
  kind: DriftKindSchema,
  /** The error code an `unreadable` repository failed with (src/core/errors.ts). */
  code: NameSchema.optional(),
  reason: z.string(),
  /** The digest the gate last published under this tag: for `tag-moved`, and for `revoked` on a revocation notice. */
  expectedDigest: Sha256DigestSchema.optional(),
  workflowId: NameSchema,
  runId: NameSchema,
  /** When a run last saw it. */
  at: IsoDateSchema,
  /** When a run first saw it, and which. */
  firstSeen: IsoDateSchema.optional(),
  firstRunId: NameSchema.optional(),
  /** How many runs saw it. */
  count: z.number().int().positive().optional(),
  /**
   * When a run that read the whole repository no longer saw it: the finding is gone. Seen
   * again later, it is new again (a new `firstSeen`, announced again), so drift that is undone
   * and then redone is never taken for the standing finding.
   */
  clearedAt: IsoDateSchema.optional(),
});
/** A drift finding as plain JSON. */
export type DriftRecord = z.input<typeof DriftDocSchema>;

/** What a run saw: a finding without the bookkeeping of when it was first and last seen. */
export type DriftSighting = Pick<
  DriftRecord,
  'repository' | 'tag' | 'digest' | 'kind' | 'code' | 'reason' | 'expectedDigest'
>;

/** The `_id` of a standing finding: the same place, digest and kind are the same finding in every run. */
export function driftId(f: Pick<DriftSighting, 'repository' | 'tag' | 'digest' | 'kind' | 'code'>): string {
  return [f.repository, f.tag ?? '', f.digest ?? '', f.code ? `${f.kind}:${f.code}` : f.kind].join('|');
}

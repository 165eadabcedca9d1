import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/** Why a tag in a release repository is drift: it names what the gate did not publish there. */
export const DriftKindSchema = z.enum([
  /** No decision of this gate published the digest to this repository (pushed around the gate). */
  'unpublished-digest',
  /** The gate published the digest here, but no VSA it signed verifies on it now. */
  'no-valid-vsa',
  /** The gate published another digest under this tag last (retagged, or rolled back by hand). */
  'tag-moved',
  /** The digest was revoked, or the tag is the revocation notice the gate moved it to. */
  'revoked',
]);
export type DriftKind = z.infer<typeof DriftKindSchema>;

/**
 * A drift finding of the release monitor. `_id` = `<runId>|<repository>:<tag>|<kind>`: a
 * retried activity records the same finding once; each scheduled run records its own.
 */
export const DriftDocSchema = z.strictObject({
  _id: NameSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** `host/repository`. */
  repository: NameSchema,
  tag: NameSchema,
  digest: Sha256DigestSchema,
  kind: DriftKindSchema,
  reason: z.string(),
  /** The digest the gate last published under this tag: for `tag-moved`, and for `revoked` on a revocation notice. */
  expectedDigest: Sha256DigestSchema.optional(),
  workflowId: NameSchema,
  runId: NameSchema,
  at: IsoDateSchema,
});
/** A drift event as plain JSON. */
export type DriftRecord = z.input<typeof DriftDocSchema>;

/** The `_id` of a finding. */
export function driftId(runId: string, repository: string, tag: string, kind: DriftKind): string {
  return `${runId}|${repository}:${tag}|${kind}`;
}

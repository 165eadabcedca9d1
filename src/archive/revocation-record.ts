import * as z from 'zod';
import { canonicalJson } from '../core/canonical-json.ts';
import { sha256Digest } from './digest.ts';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema, TextSchema } from './codecs.ts';

/** Why, by whom and when an artifact digest was revoked, and the run that recorded it. */
export const RevocationInputSchema = z.strictObject({
  subjectDigest: Sha256DigestSchema,
  reason: TextSchema,
  /** The verified identity id (`token:<name>`, `<issuer>#<sub>`) when `verified`, else the name typed at the CLI. */
  by: NameSchema,
  /** True when the API authenticated `by` and sealed it; false for a name an operator typed. */
  verified: z.boolean(),
  at: z.iso.datetime({ offset: true }),
  workflowId: NameSchema,
  runId: NameSchema,
});
export type RevocationInput = z.input<typeof RevocationInputSchema>;

/**
 * A revoked artifact digest (`_id`): one record per digest, never edited. A digest is revoked
 * everywhere and for good, whatever repository or tag it was published under: the publish
 * path reads this record by key and denies the digest (`REVOKED`). The first revocation
 * stands; revoking again records nothing new.
 */
export const RevocationDocSchema = z.strictObject({
  _id: Sha256DigestSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  subjectDigest: Sha256DigestSchema,
  reason: TextSchema,
  by: NameSchema,
  verified: z.boolean(),
  at: IsoDateSchema,
  workflowId: NameSchema,
  runId: NameSchema,
});
export type RevocationRecord = z.input<typeof RevocationDocSchema>;

/**
 * sha256 over the canonical JSON of what was revoked, why, by whom and when: the `policy`
 * digest of the FAILED VSA the revocation attaches, so that VSA names the archived record.
 */
export function revocationDigest(
  record: Pick<RevocationRecord, 'subjectDigest' | 'reason' | 'by' | 'verified' | 'at'>,
): string {
  const { subjectDigest, reason, by, verified } = record;
  return sha256Digest(
    canonicalJson({ subjectDigest, reason, by, verified, at: new Date(record.at).toISOString() }),
  );
}

/** `<digest> was revoked by <who> at <when>: <why>`, as every denial and report says it. */
export function describeRevocation(
  record: Pick<RevocationRecord, 'subjectDigest' | 'by' | 'at' | 'reason'>,
): string {
  return `${record.subjectDigest} was revoked by ${record.by} at ${new Date(record.at).toISOString()}: ${record.reason}`;
}

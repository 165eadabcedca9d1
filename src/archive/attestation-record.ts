import * as z from 'zod';
import { DigestSetSchema } from '../core/model.ts';
import { BytesSchema, IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/** One attestation as fetched, with the facts the verification core derived from it. */
export const AttestationInputSchema = z.strictObject({
  /** base64 of the raw bytes exactly as received; the archive computes their digest. */
  raw: z.base64().min(1),
  predicateType: NameSchema.optional(),
  /** The in-toto statement's subjects (`digest` maps algorithm → hex). */
  subjects: z.array(z.strictObject({ name: z.string().optional(), digest: DigestSetSchema })).default([]),
  signerIdentity: NameSchema.optional(),
  signerIssuer: NameSchema.optional(),
  /**
   * The id of the configured public key that verified it (key-signed evidence), never the
   * signer-chosen keyid: what `audit reverify` names when a rotation retired that key.
   */
  signerKeyId: NameSchema.optional(),
  builderId: NameSchema.optional(),
  sourceRepo: NameSchema.optional(),
  sourceCommit: NameSchema.optional(),
  /** Where it was fetched from: `oci://…`, a file name, `inline[0]`, … */
  origin: NameSchema,
  fetchedAt: z.iso.datetime({ offset: true }),
});
export type AttestationInput = z.input<typeof AttestationInputSchema>;

/**
 * Stored attestation, content-addressed: `_id` = sha256 of `raw`. `origin`, `fetchedAt` and
 * the derived facts are the first sighting's; every sighting (the first included) is an
 * append-only document in the `sightings` collection, so the attestation is never updated.
 */
export const AttestationDocSchema = z.strictObject({
  _id: Sha256DigestSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  raw: BytesSchema,
  size: z.number().int().nonnegative(),
  predicateType: NameSchema.optional(),
  subjectNames: z.array(z.string()),
  /** `alg:hex` strings: the subject digests as indexed, multikey values (no upstream keys as BSON keys). */
  subjectDigests: z.array(z.string()),
  signerIdentity: NameSchema.optional(),
  signerIssuer: NameSchema.optional(),
  /** The configured key id that verified it; absent for keyless evidence and on records archived before the field. */
  signerKeyId: NameSchema.optional(),
  builderId: NameSchema.optional(),
  sourceRepo: NameSchema.optional(),
  sourceCommit: NameSchema.optional(),
  origin: NameSchema,
  fetchedAt: IsoDateSchema,
});
/** An attestation as plain JSON (raw bytes in base64). */
export type AttestationRecord = z.input<typeof AttestationDocSchema>;

/** One time an attestation (or a VSA) was seen: `_id` = sha256 over digest, origin and time. */
export const SightingDocSchema = z.strictObject({
  _id: Sha256DigestSchema,
  schemaVersion: z.literal(SCHEMA_VERSION),
  digest: Sha256DigestSchema,
  origin: NameSchema,
  fetchedAt: IsoDateSchema,
  /**
   * Canonical JSON of the facts derived at this sighting (predicate type, subjects, signer,
   * builder, source). They can differ from the first sighting's (a trust root changed and the
   * bytes now verify), so they are kept here rather than refused or overwritten.
   */
  facts: z.string(),
});
export type SightingRecord = z.input<typeof SightingDocSchema>;

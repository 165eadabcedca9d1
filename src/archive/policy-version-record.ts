import * as z from 'zod';
import { IsoDateSchema, NameSchema, SCHEMA_VERSION, Sha256DigestSchema } from './codecs.ts';

/**
 * One version of the operator's policy: which text (by digest, in `policies`), who loaded it,
 * when and from where. Versions are numbered 1, 2, ...; `_id` is `v<version>` so two loads
 * racing for the same number cannot both win. The newest version is the policy in force.
 */
export const PolicyVersionDocSchema = z.strictObject({
  _id: z.string().regex(/^v[1-9][0-9]*$/),
  schemaVersion: z.literal(SCHEMA_VERSION),
  version: z.number().int().positive(),
  /** The policy's digest (what decisions cite) and the sha256 of its text. */
  digest: Sha256DigestSchema,
  textDigest: Sha256DigestSchema,
  loadedBy: NameSchema,
  loadedAt: IsoDateSchema,
  /** Where the text came from: a file path, `SLSA_GATE_POLICY=<path>` at worker start. */
  origin: NameSchema,
});
/** A policy version as plain JSON. */
export type PolicyVersionRecord = z.input<typeof PolicyVersionDocSchema>;

/**
 * The number of the newest policy version (`_id` = `current`), so the publish path finds the
 * policy in force by key. It may lag a version whose insert succeeded just before a crash;
 * `currentPolicyVersion` probes `v<n+1>` by key and moves it forward.
 */
export const PolicyHeadDocSchema = z.strictObject({
  _id: z.literal('current'),
  schemaVersion: z.literal(SCHEMA_VERSION),
  version: z.number().int().positive(),
});

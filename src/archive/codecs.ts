/**
 * Field schemas shared by the archive records. Each record schema is a zod codec:
 * its input side is the plain JSON that crosses Temporal activity boundaries
 * (ISO-8601 strings, base64), its output side is the BSON document we store
 * (Date, Binary). `z.decode` validates on write, `z.encode` validates on read.
 */
import { Binary } from 'mongodb';
import * as z from 'zod';

/** The version of every archive document's shape; bump it with a migration note. */
export const SCHEMA_VERSION = 1 as const;

/** `sha256:<64 lower-case hex>`: how the archive names content. */
export const Sha256DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>');

/** An ISO-8601 instant in JSON, a BSON Date in the store (range queries and indexes need Dates). */
export const IsoDateSchema = z.codec(z.iso.datetime({ offset: true }), z.date(), {
  decode: (iso) => new Date(iso),
  encode: (date) => date.toISOString(),
});

/** Raw bytes: base64 in JSON, BSON Binary in the store (never parsed into BSON keys). */
export const BytesSchema = z.codec(z.base64(), z.instanceof(Binary), {
  decode: (b64) => new Binary(Buffer.from(b64, 'base64')),
  encode: (bin) => Buffer.from(bin.buffer).toString('base64'),
});

/** A short, non-empty identifier or name stored and indexed as-is. */
export const NameSchema = z.string().min(1).max(2048);

/** A non-empty free-text field (reasons, messages). */
export const TextSchema = z.string().min(1).max(65536);

/** Keys we allow in stored maps: no `.` and no leading `$` (FerretDB 1.x rejects them). */
export const SafeKeySchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/);

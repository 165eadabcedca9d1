import * as z from 'zod';
import { GateError } from '../errors.ts';
import {
  INTOTO_PAYLOAD_TYPE,
  IntotoStatementSchema,
  STATEMENT_TYPES,
  type IntotoStatement,
} from '../formats/intoto/statement.ts';
import type { ArtifactRef, DigestSet, EvaluatedAttestation } from '../model.ts';
import { parseStrictJson } from './strict-json.ts';

/** docs/checklist.md#row-25: more subjects than this is an attack on memory, not a build. */
export const MAX_SUBJECTS = 1024;

/**
 * Hash algorithms of at least 256 bits (in-toto DigestSet names), with their hex
 * length. Only these bind an artifact by content (docs/checklist.md#row-16).
 */
const STRONG_HEX_LENGTH: Record<string, number> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
  sha3_256: 64,
  sha3_384: 96,
  sha3_512: 128,
  sha512_256: 64,
};

/**
 * Parse and bind a verified in-toto statement to the artifact. Call it with exactly
 * the payload bytes the signature verified over (PAE), never a re-encoding.
 *
 * Binding rule: a subject binds when
 *  - every ≥256-bit hash algorithm present on both the subject and the artifact
 *    (`artifact.digests` and `artifact.namedDigests`) has equal values, and there is
 *    at least one such algorithm; or
 *  - a digest the caller named explicitly (`artifact.namedDigests`, e.g.
 *    `gce_image_id`) that is not a hash algorithm equals the subject's value for that
 *    name exactly, and no common ≥256-bit hash disagrees.
 * In both cases no named digest the subject also carries may disagree.
 * A subject carrying only weaker or unknown algorithms binds only through the second
 * rule, and a hash named by the caller never does, so a `sha1`/`md5`-only subject never binds.
 */
export function bindStatement(
  payloadType: string,
  payload: Uint8Array,
  artifact: ArtifactRef,
  origin: string,
): { statement: IntotoStatement; predicateType: string } {
  const statement = parseStatement(payloadType, payload, origin);
  if (!statement.subject.some((s) => subjectBinds(s.digest, artifact))) {
    throw new GateError(
      'SUBJECT_MISMATCH',
      `${origin}: no subject of the statement matches the artifact (${describe(artifact)})`,
      { detail: { origin, path: '$.subject' } },
    );
  }
  return { statement, predicateType: statement.predicateType };
}

/**
 * Check the payloadType and parse the in-toto statement from exactly the verified
 * bytes, without binding it to an artifact (used alone only by signature-only checks).
 */
export function parseStatement(payloadType: string, payload: Uint8Array, origin: string): IntotoStatement {
  if (payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw new GateError(
      'PAYLOAD_TYPE',
      `${origin}: payloadType is '${payloadType}', expected '${INTOTO_PAYLOAD_TYPE}'`,
      { detail: { origin, path: 'payloadType', payloadType } },
    );
  }
  const json = parseStrictJson(payload, `${origin} (statement)`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new GateError('STATEMENT_TYPE', `${origin}: statement is not a JSON object`, {
      detail: { origin },
    });
  }
  const record = json as Record<string, unknown>;
  const type = record._type;
  if (typeof type !== 'string' || !(STATEMENT_TYPES as readonly string[]).includes(type)) {
    throw new GateError(
      'STATEMENT_TYPE',
      `${origin}: statement $._type is ${JSON.stringify(type)}, expected one of ${STATEMENT_TYPES.join(', ')}`,
      { detail: { origin, path: '$._type' } },
    );
  }
  if (Array.isArray(record.subject) && record.subject.length > MAX_SUBJECTS) {
    throw new GateError(
      'LIMIT_EXCEEDED',
      `${origin}: statement has ${record.subject.length} subjects, more than ${MAX_SUBJECTS}`,
      { detail: { origin, path: '$.subject' } },
    );
  }
  const parsed = IntotoStatementSchema.safeParse(json);
  if (!parsed.success) {
    throw new GateError(
      'BUNDLE_MALFORMED',
      `${origin}: invalid in-toto statement: ${z.prettifyError(parsed.error)}`,
      {
        detail: { origin },
      },
    );
  }
  return parsed.data;
}

/** The artifact's digests as one set: content digests first, then the names the caller gave. */
function artifactDigests(artifact: ArtifactRef): DigestSet {
  const set: DigestSet = {};
  for (const [alg, value] of Object.entries(artifact.namedDigests ?? {})) set[alg] = value;
  if (artifact.digests.sha256 !== '') set.sha256 = artifact.digests.sha256;
  if (artifact.digests.sha512 !== undefined) set.sha512 = artifact.digests.sha512;
  return set;
}

/**
 * Every hash algorithm name of the in-toto DigestSet (attestation spec, digest_set.md).
 * A named digest binds by exact match only when it is not one of these: the rule is for
 * identifiers like `gce_image_id`; a hash binds by content or, when under 256 bits (`sha1`,
 * `md5`), not at all (docs/checklist.md#row-16), even when the caller names it.
 */
const INTOTO_HASH_NAMES = new Set([
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'sha512_224',
  'sha512_256',
  'sha3_224',
  'sha3_256',
  'sha3_384',
  'sha3_512',
  'shake128',
  'shake256',
  'blake2b',
  'blake2s',
  'ripemd160',
  'sm3',
  'gost',
  'sha1',
  'md5',
]);

function isStrong(alg: string, value: string): boolean {
  const len = STRONG_HEX_LENGTH[alg];
  return len !== undefined && value.length === len && /^[0-9a-fA-F]+$/.test(value);
}

/** Whether one subject digest set binds the artifact (rule documented on bindStatement). */
export function subjectBinds(subject: DigestSet, artifact: ArtifactRef): boolean {
  const mine = artifactDigests(artifact);
  const named = artifact.namedDigests ?? {};
  // A digest the caller named that the subject carries with another value is contradicting evidence.
  for (const [alg, value] of Object.entries(named)) {
    if (Object.hasOwn(subject, alg) && !isStrong(alg, value) && subject[alg] !== value) return false;
  }
  let strongMatches = 0;
  for (const [alg, value] of Object.entries(subject)) {
    const own = Object.hasOwn(mine, alg) ? mine[alg] : undefined;
    if (own === undefined || !isStrong(alg, value) || !isStrong(alg, own)) continue;
    if (own.toLowerCase() !== value.toLowerCase()) return false;
    strongMatches++;
  }
  if (strongMatches > 0) return true;
  return Object.entries(named).some(
    ([alg, value]) =>
      !INTOTO_HASH_NAMES.has(alg.toLowerCase()) &&
      value !== '' &&
      Object.hasOwn(subject, alg) &&
      subject[alg] === value,
  );
}

function describe(artifact: ArtifactRef): string {
  return Object.entries(artifactDigests(artifact))
    .map(([alg, value]) => `${alg}:${value.length > 16 ? `${value.slice(0, 16)}…` : value}`)
    .join(', ');
}

/**
 * The statement the signature layer parsed from exactly the verified payload. It travels
 * with the attestation and is never parsed again; a message signature has none.
 */
export function statementOf(att: EvaluatedAttestation): IntotoStatement {
  if (att.statement === undefined)
    throw new GateError(
      'PAYLOAD_TYPE',
      `${att.origin}: payloadType ${JSON.stringify(att.payloadType)} carries no in-toto statement`,
      { detail: { origin: att.origin, path: 'payloadType' } },
    );
  return att.statement;
}

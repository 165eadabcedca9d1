/**
 * Google Cloud Build provenance (`gcloud artifacts docker images describe
 * --show-provenance`): DSSE envelopes signed with Cloud Build's Cloud KMS keys.
 * Follows slsa-verifier's verifiers/internal/gcb (provenance.go, keys/keys.go).
 */
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { GateError, isGateError } from '../errors.ts';
import {
  GcbProvenanceSchema,
  type GcbProvenance,
  type GcbProvenanceOccurrence,
} from '../formats/gcb/provenance-v1.ts';
import type { ArtifactRef, VerifiedAttestation } from '../model.ts';
import type { AttestationInput } from './attestation-input.ts';
import { contentDigest, decodeDsseEnvelope, type DecodedSignature } from './dsse-envelope.ts';
import { pae, verifySignature } from './dsse-pae.ts';
import { bindStatement } from './statement.ts';

/** docs/checklist.md#row-25: more BUILD occurrences than this is not one image's provenance. */
export const MAX_GCB_OCCURRENCES = 16;

/**
 * The global keys sign the DSSE PAE; their key ids map to fixed key file names
 * (slsa-verifier keys.go: V10_GlobalPAEKeyID, V01_GlobalPAEKeyID).
 */
const GLOBAL_PAE_KEYS: Record<string, string> = {
  'projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/google-hosted-worker/cryptoKeyVersions/1':
    'global-pae-google-hosted-worker_1',
  'projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/provenanceSigner/cryptoKeyVersions/1':
    'global-pae-provenanceSigner_1',
};

/**
 * Regional `builtByGCB` keys sign sha256(payload), not the PAE (slsa-verifier
 * v0.1 RegionalKeyRegex). The location is the key file name; anchored, one path segment.
 */
const REGIONAL_KEY_ID =
  /^projects\/verified-builder\/locations\/([a-z0-9-]+)\/keyRings\/attestor\/cryptoKeys\/builtByGCB\/cryptoKeyVersions\/1$/;

/** What verifying GCB provenance needs: the artifact and Cloud Build's public keys by file name. */
export interface GcbVerifyContext {
  artifact: ArtifactRef;
  trust: { gcbKeys: ReadonlyMap<string, KeyObject> };
}

/** Wraps a parsed `--show-provenance` document as an attestation input; rejects a malformed one. */
export function loadGcbProvenance(json: unknown, raw: Uint8Array, origin: string): AttestationInput {
  parseGcbProvenance(json, origin);
  return { form: 'gcb', origin, raw, json };
}

function parseGcbProvenance(json: unknown, origin: string): GcbProvenance {
  const parsed = GcbProvenanceSchema.safeParse(json);
  if (!parsed.success) {
    throw new GateError(
      'BUNDLE_MALFORMED',
      `${origin}: invalid GCB provenance: ${z.prettifyError(parsed.error)}`,
      { detail: { origin } },
    );
  }
  return parsed.data;
}

/** Which key file verifies a signature and over what: the PAE (global keys) or the raw payload (regional). */
function keyFor(keyid: string): { name: string; overPae: boolean } | undefined {
  const global = Object.hasOwn(GLOBAL_PAE_KEYS, keyid) ? GLOBAL_PAE_KEYS[keyid] : undefined;
  if (global !== undefined) return { name: global, overPae: true };
  const region = REGIONAL_KEY_ID.exec(keyid)?.[1];
  // A `global-pae*` file holds a PAE key: never let a regional-looking keyid use it over the raw payload.
  if (region === undefined || region.startsWith('global-pae')) return undefined;
  return { name: region, overPae: false };
}

/**
 * Verifies GCB provenance for the artifact: some occurrence must carry a signature
 * by a trusted GCB key, its statement must bind the artifact, and the unsigned image
 * summary, kind and resourceUri must agree with it. Each occurrence is judged whole;
 * the first that passes is returned.
 */
export function verifyGcbProvenance(input: AttestationInput, ctx: GcbVerifyContext): VerifiedAttestation {
  if (input.form !== 'gcb') {
    throw new GateError(
      'INPUT_INVALID',
      `${input.origin}: expected GCB provenance, got form '${input.form}'`,
    );
  }
  const origin = input.origin;
  const doc = parseGcbProvenance(input.json, origin);
  const occurrences = doc.provenance_summary.provenance;
  if (occurrences.length === 0) {
    throw new GateError('NO_PROVENANCE', `${origin}: provenance_summary.provenance is empty`, {
      detail: { origin, path: '$.provenance_summary.provenance' },
    });
  }
  if (occurrences.length > MAX_GCB_OCCURRENCES) {
    throw new GateError(
      'LIMIT_EXCEEDED',
      `${origin}: ${occurrences.length} provenance occurrences, more than ${MAX_GCB_OCCURRENCES}`,
      { detail: { origin, path: '$.provenance_summary.provenance' } },
    );
  }

  const errors: GateError[] = [];
  for (const [i, occurrence] of occurrences.entries()) {
    try {
      return verifyOccurrence(
        input,
        doc,
        occurrence,
        `${origin}: $.provenance_summary.provenance[${i}]`,
        ctx,
      );
    } catch (err) {
      if (!isGateError(err)) throw err;
      errors.push(err);
    }
  }
  const [first] = errors;
  if (first !== undefined && errors.length === 1) throw first;
  throw new GateError(
    first?.code ?? 'SIGNATURE_ERROR',
    `${origin}: no provenance occurrence verifies: ${errors.map((e) => `[${e.code}] ${e.message}`).join('; ')}`,
    { cause: first, detail: { origin, codes: errors.map((e) => e.code) } },
  );
}

function verifyOccurrence(
  input: AttestationInput,
  doc: GcbProvenance,
  occurrence: GcbProvenanceOccurrence,
  where: string,
  ctx: GcbVerifyContext,
): VerifiedAttestation {
  const envelope = decodeDsseEnvelope(occurrence.envelope, `${where}.envelope`);
  const signer = findTrustedSignature(
    envelope.signatures,
    envelope.payloadType,
    envelope.payload,
    where,
    ctx,
  );
  const { statement, predicateType } = bindStatement(
    envelope.payloadType,
    envelope.payload,
    ctx.artifact,
    where,
  );

  // The summary, kind and resourceUri are outside the signature: they may only
  // repeat what the signed statement says (slsa-verifier VerifySummary, VerifyMetadata).
  // The unsigned `build.*` copies of the statement are never read, so unlike upstream's
  // VerifyTextProvenance there is nothing to compare them with.
  const expected = `sha256:${ctx.artifact.digests.sha256}`;
  const summary = doc.image_summary;
  const mismatch =
    summary.digest !== expected
      ? `image_summary.digest is '${summary.digest}'`
      : !summary.fully_qualified_digest.endsWith(`@${expected}`)
        ? `image_summary.fully_qualified_digest is '${summary.fully_qualified_digest}'`
        : occurrence.kind !== 'BUILD'
          ? `kind is '${occurrence.kind}', expected 'BUILD'`
          : !occurrence.resourceUri.endsWith(`@${expected}`)
            ? `resourceUri is '${occurrence.resourceUri}'`
            : undefined;
  if (mismatch !== undefined) {
    throw new GateError(
      'BUNDLE_MALFORMED',
      `${where}: unsigned metadata disagrees with the signed subject ${expected}: ${mismatch}`,
      { detail: { origin: input.origin, expected } },
    );
  }

  return {
    digest: contentDigest(input.raw),
    origin: input.origin,
    format: 'gcb-kms',
    payloadType: envelope.payloadType,
    payload: envelope.payload.toString('base64'),
    statement,
    predicateType,
    signer,
    transparency: { kind: 'none', inclusionProof: false, signedTimestamps: 0 },
    raw: Buffer.from(input.raw).toString('base64'),
  };
}

/**
 * The first signature that verifies with the GCB key its keyid names (slsa-verifier
 * verifySignatures: one valid signature suffices, the others are ignored).
 */
function findTrustedSignature(
  signatures: DecodedSignature[],
  payloadType: string,
  payload: Buffer,
  where: string,
  ctx: GcbVerifyContext,
): VerifiedAttestation['signer'] {
  const reasons: string[] = [];
  let known = 0;
  for (const signature of signatures) {
    const ref = keyFor(signature.keyid);
    const key = ref === undefined ? undefined : ctx.trust.gcbKeys.get(ref.name);
    if (ref === undefined || key === undefined) {
      reasons.push(`signature ${signature.index}: keyid '${signature.keyid}' names no trusted GCB key`);
      continue;
    }
    known++;
    const data = ref.overPae ? pae(payloadType, payload) : payload;
    if (verifySignature(key, data, signature.sig)) {
      return { kind: 'key', keyId: signature.keyid, extensions: {}, trustedBy: `gcb-kms:${ref.name}` };
    }
    reasons.push(`signature ${signature.index}: does not verify with GCB key '${ref.name}'`);
  }
  throw new GateError(known === 0 ? 'KEY_UNKNOWN' : 'SIGNATURE_ERROR', `${where}: ${reasons.join('; ')}`, {
    detail: { path: `${where}.envelope.signatures` },
  });
}

/**
 * Bare DSSE envelopes signed with configured public keys (`form: 'dsse'`), and the
 * envelope decoding the other key-signed forms share.
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { GateError } from '../errors.ts';
import { DsseEnvelopeSchema, type DsseEnvelope } from '../formats/dsse/envelope-v1.ts';
import type { ArtifactRef, VerifiedAttestation } from '../model.ts';
import type { AttestationInput } from './attestation-input.ts';
import { decodeBase64, pae, verifySignature } from './dsse-pae.ts';
import { bindStatement } from './statement.ts';

/** docs/checklist.md#row-25: an envelope with more signatures than this is an attack, not a signing policy. */
export const MAX_ENVELOPE_SIGNATURES = 16;

/** One signature of an envelope, decoded. */
export interface DecodedSignature {
  index: number;
  keyid: string;
  sig: Buffer;
  /** PEM certificate embedded by older slsa-github-generator releases. */
  cert: string | undefined;
}

/** An envelope with its payload and signatures decoded from base64. */
export interface DecodedEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: DecodedSignature[];
}

/** Validates a DSSE envelope against its schema; `where` names it in the error. */
export function parseDsseEnvelope(json: unknown, where: string): DsseEnvelope {
  const parsed = DsseEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new GateError(
      'BUNDLE_MALFORMED',
      `${where}: invalid DSSE envelope: ${z.prettifyError(parsed.error)}`,
      {
        detail: { origin: where },
      },
    );
  }
  return parsed.data;
}

/**
 * Decodes payload and signatures. Any signature that is not valid base64 makes the
 * whole envelope malformed (DSSE protocol.md, "To verify": reject if decoding fails),
 * and the signature count is capped before any signature is checked.
 */
export function decodeDsseEnvelope(envelope: DsseEnvelope, where: string): DecodedEnvelope {
  const count = envelope.signatures.length;
  if (count === 0) {
    throw new GateError('BUNDLE_MALFORMED', `${where}: DSSE envelope has no signatures`, {
      detail: { origin: where, path: '$.signatures' },
    });
  }
  if (count > MAX_ENVELOPE_SIGNATURES) {
    throw new GateError(
      'LIMIT_EXCEEDED',
      `${where}: DSSE envelope has ${count} signatures, more than ${MAX_ENVELOPE_SIGNATURES}`,
      { detail: { origin: where, path: '$.signatures' } },
    );
  }
  return {
    payloadType: envelope.payloadType,
    payload: decodeBase64(envelope.payload, `${where}: $.payload`),
    signatures: envelope.signatures.map((s, index) => ({
      index,
      keyid: s.keyid ?? '',
      sig: decodeBase64(s.sig, `${where}: $.signatures[${index}].sig`),
      cert: s.cert,
    })),
  };
}

/** `sha256:<hex>` of bytes, the content address of an archived attestation. */
export function contentDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A configured public key (the shape of `TrustMaterial.publicKeys` entries); key id `''` applies to any keyid. */
export interface ConfiguredKey {
  keyId: string;
  key: KeyObject;
  trustedBy: string;
}

/** What verifying a bare DSSE envelope needs. */
export interface DsseVerifyContext {
  artifact: ArtifactRef;
  trust: { publicKeys: readonly ConfiguredKey[] };
  /** `--public-key-id`: when given, only a signature whose keyid is exactly this is tried, with the key of that id. */
  keyId?: string;
}

/** The configured keys a signature is tried with: KEYID narrows the choice, never widens it. */
function keysFor(signature: DecodedSignature, ctx: DsseVerifyContext): ConfiguredKey[] {
  if (ctx.keyId !== undefined) {
    return signature.keyid === ctx.keyId ? ctx.trust.publicKeys.filter((k) => k.keyId === ctx.keyId) : [];
  }
  if (signature.keyid === '') return [...ctx.trust.publicKeys];
  return ctx.trust.publicKeys.filter((k) => k.keyId === signature.keyid || k.keyId === '');
}

/**
 * Verifies a bare DSSE envelope over its PAE with the configured public keys, then
 * binds the statement to the artifact. A signature that names a keyid is tried with
 * the key of that id (or one configured without id); one without keyid with every key.
 * There is no trusted time for a bare envelope, so key validity windows are not consulted.
 */
export function verifyDsseEnvelope(input: AttestationInput, ctx: DsseVerifyContext): VerifiedAttestation {
  if (input.form !== 'dsse') {
    throw new GateError(
      'INPUT_INVALID',
      `${input.origin}: expected a DSSE envelope, got form '${input.form}'`,
    );
  }
  const origin = input.origin;
  const envelope = decodeDsseEnvelope(parseDsseEnvelope(input.json, origin), origin);
  if (ctx.keyId !== undefined && !ctx.trust.publicKeys.some((k) => k.keyId === ctx.keyId)) {
    throw new GateError('KEY_UNKNOWN', `${origin}: no public key is configured with id '${ctx.keyId}'`, {
      detail: { origin, keyId: ctx.keyId },
    });
  }

  // DSSE protocol.md, "Multi-signature Verification", with threshold t = 1: an envelope
  // with several signatures is equivalent to separate envelopes (envelope.md), so it is
  // accepted when at least one signature verifies with a trusted key; the others are
  // ignored and the first verifying one is recorded as the signer.
  const message = pae(envelope.payloadType, envelope.payload);
  let tried = 0;
  for (const signature of envelope.signatures) {
    for (const configured of keysFor(signature, ctx)) {
      tried++;
      if (!verifySignature(configured.key, message, signature.sig)) continue;
      const { statement, predicateType } = bindStatement(
        envelope.payloadType,
        envelope.payload,
        ctx.artifact,
        origin,
      );
      // The signer is the configured key that verified, never the envelope's keyid: a keyid is
      // chosen by whoever signed and only narrows which keys are tried (DSSE protocol.md).
      const keyId = configured.keyId;
      return {
        digest: contentDigest(input.raw),
        origin,
        format: 'dsse-key',
        payloadType: envelope.payloadType,
        payload: envelope.payload.toString('base64'),
        statement,
        predicateType,
        signer: {
          kind: 'key',
          ...(keyId === '' ? {} : { keyId }),
          extensions: {},
          trustedBy: configured.trustedBy,
        },
        transparency: { kind: 'none', inclusionProof: false, signedTimestamps: 0 },
        raw: Buffer.from(input.raw).toString('base64'),
      };
    }
  }

  const withCert = envelope.signatures.find((s) => s.cert !== undefined && s.cert !== '');
  if (withCert !== undefined) {
    // Older slsa-github-generator envelopes: the certificate is only trustworthy with
    // transparency-log evidence, which upstream fetched from Rekor online. Offline, fail closed.
    throw new GateError(
      'TLOG_MISSING',
      `${origin}: signature ${withCert.index} embeds a certificate but the envelope carries no transparency-log entry; provide it as a Sigstore bundle`,
      { detail: { origin, path: `$.signatures[${withCert.index}].cert` } },
    );
  }
  if (tried === 0) {
    const ids = envelope.signatures.map((s) => s.keyid || '(none)').join(', ');
    throw new GateError(
      'KEY_UNKNOWN',
      `${origin}: no configured public key matches the envelope keyids: ${ids}`,
      {
        detail: { origin, keyids: envelope.signatures.map((s) => s.keyid) },
      },
    );
  }
  throw new GateError(
    'SIGNATURE_ERROR',
    `${origin}: none of the ${envelope.signatures.length} DSSE signatures verifies with a configured public key`,
    { detail: { origin, path: '$.signatures' } },
  );
}

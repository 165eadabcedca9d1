/**
 * Sealing and opening verified identities (see identity.ts): HMAC-SHA256 with the key the
 * API shares only with the workers.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { GateError } from './errors.ts';
import { SealedIdentitySchema, type Identity, type SealedIdentity } from './identity.ts';

/** A sealed identity is honoured for this long after it was issued (a replayed seal goes stale). */
export const SEAL_LIFETIME_SECONDS = 15 * 60;

/** The key shared by the API and the workers: at least 32 bytes, given as hex or base64. */
export function identityKeyOf(value: string | undefined, variable = 'SLSA_GATE_IDENTITY_KEY'): Buffer {
  const text = value?.trim() ?? '';
  const key = /^[0-9a-fA-F]+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length < 32)
    throw new GateError('CONFIG_INVALID', `${variable} must hold at least 32 random bytes (hex or base64)`, {
      detail: { variable },
    });
  return key;
}

function macOf(key: Buffer, fields: Omit<SealedIdentity, 'seal'>): Buffer {
  return createHmac('sha256', key).update(canonicalJson(fields)).digest();
}

/** Seals a verified identity for one action on one workflow. */
export function sealIdentity(
  key: Buffer,
  fields: Omit<SealedIdentity, 'seal' | 'issuedAt'>,
  now = new Date(),
): SealedIdentity {
  const unsealed = { ...fields, issuedAt: now.toISOString() };
  return { ...unsealed, seal: macOf(key, unsealed).toString('hex') };
}

/**
 * The digest a seal binds a request by: sha256 over the canonical JSON of the request as the
 * workflow validates it, without its seal. Every field counts (candidate, staging repository,
 * release repository, tag, inline attestations, the requester's display name): a field added
 * to the request is covered without anyone having to remember it.
 */
export function requestDigestOf(unsealedRequest: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(unsealedRequest)).digest('hex')}`;
}

/**
 * Seals the requester of one request: for `workflowId`, for this request (its digest), with
 * a fresh nonce that the first run presenting it consumes (docs/security-model.md#one-credential-one-run).
 */
export function sealRequester(
  key: Buffer,
  fields: { identity: Identity; workflowId: string; unsealedRequest: unknown },
  now = new Date(),
): SealedIdentity {
  return sealIdentity(
    key,
    {
      identity: fields.identity,
      purpose: 'request',
      workflowId: fields.workflowId,
      requestDigest: requestDigestOf(fields.unsealedRequest),
      nonce: randomBytes(16).toString('hex'),
    },
    now,
  );
}

/** What a seal must have been issued for. */
export interface SealExpectation {
  purpose: SealedIdentity['purpose'];
  workflowId: string;
  /** The run a verdict is for; a seal for another run (or none) is refused. */
  runId?: string;
  /** The digest of the request in force; a seal for another request (or none) is refused. */
  requestDigest?: string;
  /** When the seal was presented: the run's start for a request, the Update's time for a verdict. */
  now: Date;
}

/**
 * The identity a seal vouches for, when the seal is ours, issued for what `expected` names,
 * and fresh at `now`. IDENTITY_UNVERIFIED when it is malformed, not ours or stale (the caller
 * is not who the payload says); SEAL_MISMATCH when it is ours but for something else.
 */
export function openSealedIdentity(key: Buffer, sealed: unknown, expected: SealExpectation): Identity {
  const parsed = SealedIdentitySchema.safeParse(sealed);
  if (!parsed.success)
    throw new GateError('IDENTITY_UNVERIFIED', 'no verified identity: the identity seal is malformed');
  const { seal, ...fields } = parsed.data;
  const expectedMac = macOf(key, fields);
  if (!timingSafeEqual(expectedMac, Buffer.from(seal, 'hex')))
    throw new GateError('IDENTITY_UNVERIFIED', 'no verified identity: the identity seal does not verify');
  if (fields.purpose !== expected.purpose || fields.workflowId !== expected.workflowId)
    throw new GateError('SEAL_MISMATCH', 'the identity seal was issued for another action', {
      detail: { purpose: fields.purpose, workflowId: fields.workflowId },
    });
  if (expected.runId !== undefined && fields.runId !== expected.runId)
    throw new GateError('SEAL_MISMATCH', 'the identity seal was issued for another run of this publish', {
      detail: { workflowId: fields.workflowId, ...(fields.runId ? { runId: fields.runId } : {}) },
    });
  if (expected.requestDigest !== undefined && fields.requestDigest !== expected.requestDigest)
    throw new GateError('SEAL_MISMATCH', 'the identity seal was issued for another request', {
      detail: {
        expected: expected.requestDigest,
        ...(fields.requestDigest ? { sealed: fields.requestDigest } : {}),
      },
    });
  const age = (expected.now.getTime() - Date.parse(fields.issuedAt)) / 1000;
  if (age > SEAL_LIFETIME_SECONDS || age < -60)
    throw new GateError('IDENTITY_UNVERIFIED', 'the identity seal is stale', {
      detail: { issuedAt: fields.issuedAt, lifetimeSeconds: SEAL_LIFETIME_SECONDS },
    });
  return fields.identity;
}

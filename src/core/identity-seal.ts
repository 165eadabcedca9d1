/**
 * Sealing and opening verified identities (see identity.ts): HMAC-SHA256 with the key the
 * API shares only with the workers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
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
 * The identity a seal vouches for, when the seal is ours, for `purpose` on `workflowId` (and
 * on `runId`, when one is expected), and
 * fresh at `now`; APPROVER_NOT_ALLOWED otherwise (the caller is not who the payload says).
 */
export function openSealedIdentity(
  key: Buffer,
  sealed: unknown,
  expected: { purpose: SealedIdentity['purpose']; workflowId: string; runId?: string; now: Date },
): Identity {
  const parsed = SealedIdentitySchema.safeParse(sealed);
  if (!parsed.success)
    throw new GateError('APPROVER_NOT_ALLOWED', 'no verified identity: the identity seal is malformed');
  const { seal, ...fields } = parsed.data;
  const expectedMac = macOf(key, fields);
  if (!timingSafeEqual(expectedMac, Buffer.from(seal, 'hex')))
    throw new GateError('APPROVER_NOT_ALLOWED', 'no verified identity: the identity seal does not verify');
  if (fields.purpose !== expected.purpose || fields.workflowId !== expected.workflowId)
    throw new GateError('APPROVER_NOT_ALLOWED', 'the identity seal was issued for another action', {
      detail: { purpose: fields.purpose, workflowId: fields.workflowId },
    });
  if (expected.runId !== undefined && fields.runId !== expected.runId)
    throw new GateError(
      'APPROVER_NOT_ALLOWED',
      'the identity seal was issued for another run of this publish',
      {
        detail: { workflowId: fields.workflowId, ...(fields.runId ? { runId: fields.runId } : {}) },
      },
    );
  const age = (expected.now.getTime() - Date.parse(fields.issuedAt)) / 1000;
  if (age > SEAL_LIFETIME_SECONDS || age < -60)
    throw new GateError('APPROVER_NOT_ALLOWED', 'the identity seal is stale', {
      detail: { issuedAt: fields.issuedAt },
    });
  return fields.identity;
}

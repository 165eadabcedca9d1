/**
 * Attacker-made material for the bypass-class tests (issue 11): real corpus statements
 * re-signed with keys generated here, in the envelope and bundle forms an attacker can
 * hand the gate. Nothing here is real signing material; each helper says what it makes.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pae } from '../../../src/core/verify/dsse-pae.ts';

export const CORPUS = fileURLToPath(new URL('../../fixtures/corpus/', import.meta.url));

/** An attacker's own P-256 key pair, generated per run. */
export function attackerKey(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A DSSE envelope over `statement` signed with `key`, naming `keyid` (which the attacker chooses freely). */
export function signedEnvelope(
  statement: unknown,
  key: KeyObject,
  keyid: string,
  payloadType = 'application/vnd.in-toto+json',
): { payload: string; payloadType: string; signatures: Array<{ sig: string; keyid: string }> } {
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign('sha256', pae(payloadType, payload), key);
  return {
    payload: payload.toString('base64'),
    payloadType,
    signatures: [{ sig: sig.toString('base64'), keyid }],
  };
}

/** A key-signed Sigstore bundle v0.3 (no log entry, no timestamp) whose public-key hint is `hint`. */
export function keyBundle(statement: unknown, key: KeyObject, hint: string): Record<string, unknown> {
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint }, tlogEntries: [], timestampVerificationData: {} },
    dsseEnvelope: signedEnvelope(statement, key, hint),
  };
}

/** The in-toto statement inside a corpus DSSE envelope. */
export function statementOfEnvelope(envelope: { payload: string }): Record<string, unknown> {
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
}

/** A corpus file's bytes. */
export function corpusBytes(caseId: string, file: string): Buffer {
  return readFileSync(join(CORPUS, caseId, file));
}

/** sha256 and sha512 hex of bytes. */
export function digestsOf(bytes: Uint8Array): { sha256: string; sha512: string } {
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sha512: createHash('sha512').update(bytes).digest('hex'),
  };
}

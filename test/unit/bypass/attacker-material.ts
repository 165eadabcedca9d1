/**
 * Attacker-made material for the bypass-class tests: real corpus statements
 * re-signed with keys generated here, in the envelope and bundle forms an attacker can
 * hand the gate. Nothing here is real signing material; each helper says what it makes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** Fulcio certificate extension OIDs 1.3.6.1.4.1.57264.1.<n> by spec name (fulcio docs/oid-info.md), n ≥ 8 (DER UTF8String values). */
const FULCIO_OIDS: Record<string, number> = {
  buildSignerURI: 9,
  buildSignerDigest: 10,
  runnerEnvironment: 11,
  sourceRepositoryURI: 12,
  sourceRepositoryDigest: 13,
  sourceRepositoryRef: 14,
  sourceRepositoryIdentifier: 15,
  sourceRepositoryOwnerURI: 16,
  sourceRepositoryOwnerIdentifier: 17,
  buildConfigURI: 18,
  buildConfigDigest: 19,
  buildTrigger: 20,
  runInvocationURI: 21,
  sourceRepositoryVisibilityAtSigning: 22,
};

/**
 * A Fulcio-like certificate made here with the openssl CLI: self-signed by a throwaway
 * P-256 key standing in for a CA, with the SAN `san`, the OIDC issuer (OID .8) and the
 * named Fulcio extensions as DER UTF8Strings — what Fulcio would issue to the attacker's
 * own workflow. Returns its DER bytes.
 */
export function fulcioLikeCertificate(
  san: string,
  issuer: string,
  extensions: Record<string, string>,
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'attacker-cert-'));
  const utf8 = (v: string) => `ASN1:UTF8String:${v.replace(/,/g, '\\,')}`;
  const lines = [`subjectAltName=URI:${san}`, `1.3.6.1.4.1.57264.1.8=${utf8(issuer)}`];
  for (const [name, value] of Object.entries(extensions)) {
    const n = FULCIO_OIDS[name];
    if (n !== undefined) lines.push(`1.3.6.1.4.1.57264.1.${n}=${utf8(value)}`);
  }
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  args.push('-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.der'), '-outform', 'DER', '-days', '1');
  args.push('-subj', '/O=sigstore.dev');
  for (const line of lines) args.push('-addext', line);
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(join(dir, 'cert.der'));
}

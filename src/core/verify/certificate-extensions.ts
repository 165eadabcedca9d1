import type { X509Certificate } from '@sigstore/core';
import { GateError } from '../errors.ts';

const FULCIO_OID_PREFIX = '1.3.6.1.4.1.57264.1.';

/**
 * Fulcio certificate extensions by OID suffix and their spec names
 * (sigstore/fulcio docs/oid-info.md). `.1`–`.6` are deprecated and hold raw strings;
 * `.8` onwards hold a DER-encoded UTF8String. `.7` is an otherName SAN, not an extension value.
 */
const FULCIO_EXTENSIONS: Record<number, { name: string; der: boolean }> = {
  1: { name: 'issuerV1', der: false },
  2: { name: 'githubWorkflowTrigger', der: false },
  3: { name: 'githubWorkflowSha', der: false },
  4: { name: 'githubWorkflowName', der: false },
  5: { name: 'githubWorkflowRepository', der: false },
  6: { name: 'githubWorkflowRef', der: false },
  8: { name: 'issuer', der: true },
  9: { name: 'buildSignerURI', der: true },
  10: { name: 'buildSignerDigest', der: true },
  11: { name: 'runnerEnvironment', der: true },
  12: { name: 'sourceRepositoryURI', der: true },
  13: { name: 'sourceRepositoryDigest', der: true },
  14: { name: 'sourceRepositoryRef', der: true },
  15: { name: 'sourceRepositoryIdentifier', der: true },
  16: { name: 'sourceRepositoryOwnerURI', der: true },
  17: { name: 'sourceRepositoryOwnerIdentifier', der: true },
  18: { name: 'buildConfigURI', der: true },
  19: { name: 'buildConfigDigest', der: true },
  20: { name: 'buildTrigger', der: true },
  21: { name: 'runInvocationURI', der: true },
  22: { name: 'sourceRepositoryVisibilityAtSigning', der: true },
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a DER UTF8String (tag 0x0c), definite length, nothing after it. */
export function decodeDerUtf8String(bytes: Uint8Array): string {
  if (bytes.length < 2 || bytes[0] !== 0x0c) throw new Error('not a DER UTF8String');
  let len = bytes[1]!;
  let offset = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || bytes.length < 2 + n) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | bytes[2 + i]!;
    offset = 2 + n;
  }
  if (offset + len !== bytes.length) throw new Error('DER length does not match the value');
  return utf8.decode(bytes.subarray(offset));
}

/**
 * The Fulcio extensions of a leaf certificate by spec name. A Fulcio extension whose
 * value does not decode is CERTIFICATE_ERROR: identity facts must never be guessed.
 */
export function fulcioExtensions(cert: X509Certificate): Record<string, string> {
  // One pass over the extensions (X509Certificate.extension would scan them once per OID);
  // the first extension of an OID counts, as X509Certificate.extension returns it.
  const byOid = new Map<string, Buffer>();
  for (const ext of cert.extensions) {
    const oid = ext.subs[0]?.toOID();
    // extnValue is the extension's last element (RFC 5280 §4.1: extnID, critical DEFAULT FALSE, extnValue).
    const value = ext.subs[ext.subs.length - 1]?.value;
    if (oid?.startsWith(FULCIO_OID_PREFIX) && value !== undefined && !byOid.has(oid)) byOid.set(oid, value);
  }
  const out: Record<string, string> = {};
  for (const [suffix, { name, der }] of Object.entries(FULCIO_EXTENSIONS)) {
    const oid = `${FULCIO_OID_PREFIX}${suffix}`;
    const value = byOid.get(oid);
    if (!value) continue;
    try {
      out[name] = der ? decodeDerUtf8String(value) : utf8.decode(value);
    } catch (cause) {
      throw new GateError(
        'CERTIFICATE_ERROR',
        `certificate extension ${oid} (${name}) is not a valid string: ${(cause as Error).message}`,
        {
          cause,
          detail: { oid },
        },
      );
    }
  }
  return out;
}

/** The OIDC issuer of a Fulcio certificate: extension .8, else the deprecated .1. */
export function certificateIssuer(extensions: Record<string, string>): string | undefined {
  return extensions.issuer ?? extensions.issuerV1;
}

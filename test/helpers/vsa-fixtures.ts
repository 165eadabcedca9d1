/**
 * VSAs made for the attestor tests and the bench, signed at run time with keys generated
 * here (ECDSA P-256 over the DSSE PAE, as slsa-gate signs its own VSAs). Nothing here is
 * upstream data: each statement follows the VSA v1 spec and source-tool's Source VSA layout.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A test signing key with its id and PEM public key. */
export interface TestKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** A fresh P-256 key. */
export function makeKey(keyId: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keyId, privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A VSA v1 statement. `sourceRefs` adds source-tool's `source_refs` annotation to the subject. */
export function vsaStatement(opts: {
  digest: Record<string, string>;
  resourceUri: string;
  verifierId: string;
  levels: string[];
  result?: string;
  sourceRefs?: string[];
  name?: string;
}) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [
      {
        ...(opts.name === undefined ? {} : { name: opts.name }),
        digest: opts.digest,
        ...(opts.sourceRefs === undefined ? {} : { annotations: { source_refs: opts.sourceRefs } }),
      },
    ],
    predicateType: 'https://slsa.dev/verification_summary/v1',
    predicate: {
      verifier: { id: opts.verifierId },
      timeVerified: '2026-11-25T00:00:00Z',
      resourceUri: opts.resourceUri,
      policy: { uri: 'https://example.test/policy' },
      verificationResult: opts.result ?? 'PASSED',
      verifiedLevels: opts.levels,
    },
  };
}

function pae(payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${payload.length} `),
    payload,
  ]);
}

/** A DSSE envelope over the statement. */
export function signEnvelope(statement: unknown, key: TestKey) {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  return {
    payloadType: PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: key.keyId, sig: sign('sha256', pae(payload), key.privateKey).toString('base64') }],
  };
}

/** A Sigstore bundle v0.3 with a public-key hint and no log entry (the form slsa-gate issues). */
export function signBundle(statement: unknown, key: TestKey) {
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      publicKey: { hint: key.keyId },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: signEnvelope(statement, key),
  };
}

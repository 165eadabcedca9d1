/**
 * A self-made Sigstore instance for tests that corpus material cannot cover: a
 * transparency log key of our own (named in a generated trusted root) signs the SET
 * and a one-entry checkpoint for a key-signed message-signature bundle v0.3. Keys are
 * generated per run; nothing here is real Sigstore material.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOG_NAME = 'synthetic.log.test';

/** RFC 8785-style canonical JSON of a flat object with string/number values (what the SET signs). */
function canonical(value: Record<string, string | number>): string {
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`)
    .join(',')}}`;
}

export interface SyntheticBundle {
  dir: string;
  trustedRoot: string;
  bundle: string;
  artifact: string;
  artifactDigest: string;
  signingKeyPem: string;
  signingKeyFile: string;
  bundleJson: Record<string, unknown>;
}

/** Write a trusted root, a signing key, an artifact and its key-signed message-signature bundle v0.3 to a temp dir. */
export function makeSyntheticKeyBundle(message = 'synthetic artifact\n'): SyntheticBundle {
  const dir = mkdtempSync(join(tmpdir(), 'synthetic-log-'));
  const log = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const logDer = log.publicKey.export({ type: 'spki', format: 'der' });
  const logId = createHash('sha256').update(logDer).digest();
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKeyPem = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  const artifactBytes = Buffer.from(message);
  const digest = createHash('sha256').update(artifactBytes).digest();
  const signature = sign('sha256', artifactBytes, signer.privateKey);
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
        signature: {
          content: signature.toString('base64'),
          publicKey: { content: Buffer.from(signingKeyPem).toString('base64') },
        },
      },
    }),
  );
  const integratedTime = Math.floor(Date.now() / 1000) - 60;
  const set = sign(
    'sha256',
    Buffer.from(
      canonical({ body: body.toString('base64'), integratedTime, logIndex: 0, logID: logId.toString('hex') }),
    ),
    log.privateKey,
  );
  // A one-leaf tree: the root is the leaf hash (RFC 6962 §2.1), the proof has no hashes.
  const root = createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), body]))
    .digest();
  const note = `${LOG_NAME} - 1\n1\n${root.toString('base64')}\n`;
  const noteSig = sign('sha256', Buffer.from(note), log.privateKey);
  const envelope = `${note}\n\u2014 ${LOG_NAME} ${Buffer.concat([logId.subarray(0, 4), noteSig]).toString('base64')}\n`;

  const bundleJson = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      publicKey: { hint: 'synthetic-key' },
      tlogEntries: [
        {
          logIndex: '0',
          logId: { keyId: logId.toString('base64') },
          kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
          integratedTime: String(integratedTime),
          inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
          inclusionProof: {
            logIndex: '0',
            rootHash: root.toString('base64'),
            treeSize: '1',
            hashes: [],
            checkpoint: { envelope },
          },
          canonicalizedBody: body.toString('base64'),
        },
      ],
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
      signature: signature.toString('base64'),
    },
  };
  const trustedRootJson = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${LOG_NAME}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: logDer.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
        logId: { keyId: logId.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  const paths = {
    trustedRoot: join(dir, 'trusted_root.json'),
    bundle: join(dir, 'bundle.sigstore.json'),
    artifact: join(dir, 'artifact'),
    signingKeyFile: join(dir, 'key.pem'),
  };
  writeFileSync(paths.trustedRoot, JSON.stringify(trustedRootJson));
  writeFileSync(paths.bundle, JSON.stringify(bundleJson));
  writeFileSync(paths.artifact, artifactBytes);
  writeFileSync(paths.signingKeyFile, signingKeyPem);
  return { dir, ...paths, artifactDigest: `sha256:${digest.toString('hex')}`, signingKeyPem, bundleJson };
}

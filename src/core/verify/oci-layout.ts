/**
 * Cosign attestations in an OCI image layout: the index and manifests are parsed and
 * limited here, and each DSSE layer with its Rekor annotations becomes a Sigstore bundle
 * v0.1, so the bundle verifier checks it with sigstore-js. Nothing is verified
 * cryptographically here and no file is read: src/loaders/oci-layout-dir.ts reads the
 * blobs (capped) and calls these functions with their bytes.
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as z from 'zod';
import { GateError } from '../errors.ts';
import {
  COSIGN_LAYOUT,
  CosignRekorBundleSchema,
  OciIndexSchema,
  OciManifestSchema,
  type OciDescriptor,
} from '../formats/oci/cosign-layout-v1.ts';
import { DsseEnvelopeSchema } from '../formats/dsse/envelope-v1.ts';
import { BUNDLE_V01_MEDIA_TYPE } from '../formats/sigstore/bundle-v1.ts';
import type { AttestationInput } from './attestation-input.ts';
import { parseStrictJson } from './strict-json.ts';

/** docs/checklist.md#row-25: limits applied before a file is read or a list is walked. */
export const OCI_LAYOUT_LIMITS = {
  indexBytes: 1 << 20,
  /** The OCI distribution spec's recommended manifest size limit. */
  manifestBytes: 4 << 20,
  attestationBytes: 16 << 20,
  attestationManifests: 8,
  layersPerManifest: 32,
} as const;

const ATT_TAG = /^sha256-([0-9a-f]{64})\.att$/;

function fail(
  code: 'INPUT_INVALID' | 'BUNDLE_MALFORMED' | 'LIMIT_EXCEEDED',
  where: string,
  message: string,
): never {
  throw new GateError(code, `${where}: ${message}`, { detail: { origin: where } });
}

/**
 * Checks that `bytes` are the content `descriptor` addresses (size, then sha256 digest):
 * a blob is trusted for what it is, not for where it was found.
 */
export function checkBlobContent(bytes: Uint8Array, descriptor: OciDescriptor, where: string): void {
  if (bytes.length !== descriptor.size) {
    throw new GateError(
      'DIGEST_MISMATCH',
      `${where}: ${bytes.length} bytes, its descriptor says ${descriptor.size}`,
      { detail: { origin: where } },
    );
  }
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== descriptor.digest) {
    throw new GateError(
      'DIGEST_MISMATCH',
      `${where}: content digest is ${actual}, expected ${descriptor.digest}`,
      {
        detail: { origin: where },
      },
    );
  }
}

/** The cap a blob is read under: LIMIT_EXCEEDED when its descriptor already says it is larger. */
export function blobCap(descriptor: OciDescriptor, cap: number, where: string): number {
  if (descriptor.size > cap)
    fail('LIMIT_EXCEEDED', where, `descriptor size ${descriptor.size}, more than ${cap}`);
  return cap;
}

function parseWith<T>(schema: z.ZodType<T>, bytes: Uint8Array, where: string, what: string): T {
  const parsed = schema.safeParse(parseStrictJson(bytes, where));
  if (!parsed.success) fail('BUNDLE_MALFORMED', where, `invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The attestation manifests of the layout: entries cosign marks `dev.cosignproject.cosign/atts`,
 * or tagged `sha256-<hex>.att`. With `imageDigest`, the image must be in the layout and a tag must name it.
 */
export function selectAttestationManifests(
  entries: OciDescriptor[],
  imageDigest: string | undefined,
  where: string,
): OciDescriptor[] {
  const selected = entries.filter((entry) => {
    const tag = ATT_TAG.exec(entry.annotations?.[COSIGN_LAYOUT.refName] ?? '');
    if (tag !== null) return imageDigest === undefined || `sha256:${tag[1]}` === imageDigest;
    return entry.annotations?.[COSIGN_LAYOUT.kind] === COSIGN_LAYOUT.attestationsKind;
  });
  if (imageDigest !== undefined && !entries.some((e) => e.digest === imageDigest && !selected.includes(e))) {
    throw new GateError('NO_PROVENANCE', `${where}: the layout does not hold image ${imageDigest}`, {
      detail: { origin: where },
    });
  }
  if (selected.length === 0) {
    throw new GateError('NO_PROVENANCE', `${where}: no cosign attestation manifest in the layout`, {
      detail: { origin: where },
    });
  }
  if (selected.length > OCI_LAYOUT_LIMITS.attestationManifests) {
    fail(
      'LIMIT_EXCEEDED',
      where,
      `${selected.length} attestation manifests, more than ${OCI_LAYOUT_LIMITS.attestationManifests}`,
    );
  }
  return selected;
}

/**
 * A cosign DSSE layer as an attestation input: a Sigstore bundle v0.1 built from the
 * certificate and Rekor annotations, or, for a key-signed layer (no certificate), the
 * bare DSSE envelope to be verified with configured keys.
 */
export function cosignLayerToInput(
  bytes: Buffer,
  annotations: Record<string, string>,
  origin: string,
): AttestationInput {
  const envelope = parseWith(DsseEnvelopeSchema, bytes, origin, 'DSSE envelope');
  const certificate = annotations[COSIGN_LAYOUT.certificate];
  if (certificate === undefined || certificate === '')
    return { form: 'dsse', origin, raw: bytes, json: envelope };

  const rekorAnnotation = annotations[COSIGN_LAYOUT.bundle];
  if (rekorAnnotation === undefined || rekorAnnotation === '') {
    throw new GateError(
      'TLOG_MISSING',
      `${origin}: certificate-signed attestation without a ${COSIGN_LAYOUT.bundle} annotation`,
      {
        detail: { origin },
      },
    );
  }
  const where = `${origin} (${COSIGN_LAYOUT.bundle} annotation)`;
  const rekor = parseWith(
    CosignRekorBundleSchema,
    Buffer.from(rekorAnnotation, 'utf8'),
    where,
    'Rekor bundle',
  );
  const body = parseWith(
    z.looseObject({ kind: z.string().min(1), apiVersion: z.string().min(1) }),
    Buffer.from(rekor.Payload.body, 'base64'),
    `${where} $.Payload.body`,
    'Rekor entry body',
  );
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificate);
  } catch (cause) {
    throw new GateError(
      'BUNDLE_MALFORMED',
      `${origin}: ${COSIGN_LAYOUT.certificate} is not a PEM certificate`,
      {
        cause,
        detail: { origin },
      },
    );
  }

  // Only the leaf goes in the chain: the trusted root supplies the CA certificates, and
  // the unsigned `dev.sigstore.cosign/chain` annotation adds nothing to trust.
  const bundle = {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: leaf.raw.toString('base64') }] },
      tlogEntries: [
        {
          logIndex: String(rekor.Payload.logIndex),
          logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
          kindVersion: { kind: body.kind, version: body.apiVersion },
          integratedTime: String(rekor.Payload.integratedTime),
          inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
          canonicalizedBody: rekor.Payload.body,
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: envelope.payload,
      payloadType: envelope.payloadType,
      signatures: envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid ?? '' })),
    },
  };
  return { form: 'bundle', container: 'oci-layout', origin, raw: bytes, json: bundle };
}

/** The OCI index of a layout (`index.json`). */
export function parseOciIndex(bytes: Uint8Array, where: string): z.infer<typeof OciIndexSchema> {
  return parseWith(OciIndexSchema, bytes, where, 'OCI index');
}

/** The DSSE layers of an attestation manifest, after the layer-count limit. */
export function attestationLayers(bytes: Uint8Array, where: string): OciDescriptor[] {
  const manifest = parseWith(OciManifestSchema, bytes, where, 'attestation manifest');
  if (manifest.layers.length > OCI_LAYOUT_LIMITS.layersPerManifest) {
    fail(
      'LIMIT_EXCEEDED',
      where,
      `${manifest.layers.length} layers, more than ${OCI_LAYOUT_LIMITS.layersPerManifest}`,
    );
  }
  return manifest.layers.filter((layer) => layer.mediaType === COSIGN_LAYOUT.dsseLayer);
}

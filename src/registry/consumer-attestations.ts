/**
 * Attestations attached to a published image in the forms consumers' own tools read,
 * unchanged:
 * - an OCI 1.1 referrer whose artifact and layer are a Sigstore bundle v0.3: what
 *   `cosign verify-attestation` (which switches to `--new-bundle-format` by itself when such
 *   a referrer exists, cosign pkg/cosign/verify.go GetBundles), `cosign download attestation`
 *   and `cosign tree --experimental-oci11` read; the referrers API or its tag fallback;
 * - a layer of the cosign `sha256-<hex>.att` manifest holding the bare DSSE envelope with a
 *   `predicateType` annotation: what `cosign tree`, `cosign download attestation`, older
 *   cosign releases and mirrors that copy tags read, and what `slsa-verifier verify-vsa`
 *   takes as `--attestation-path`.
 * Both hold the same signed bytes (the DSSE payload and signature); only unsigned wrapping
 * differs, so neither form can say more than the other.
 */
import { GateError } from '../core/errors.ts';
import { DsseEnvelopeSchema, type DsseEnvelope } from '../core/formats/dsse/envelope-v1.ts';
import {
  BUNDLE_V03_MEDIA_TYPE,
  SigstoreBundleSchema,
  type SigstoreBundleJson,
} from '../core/formats/sigstore/bundle-v1.ts';
import type { RegistryClient } from './client.ts';
import { attachCosignAttestations, COSIGN_ANNOTATIONS, cosignAttestationTag } from './cosign-attestations.ts';
import { attachReferrer, referrersTag } from './referrers.ts';

/** Annotations cosign puts on a bundle referrer (cosign pkg/oci/remote/write.go WriteAttestationNewBundleFormat). */
export const BUNDLE_ANNOTATIONS = {
  predicateType: 'dev.sigstore.bundle.predicateType',
  content: 'dev.sigstore.bundle.content',
} as const;

const V03_MEDIA_TYPES = new Set([
  BUNDLE_V03_MEDIA_TYPE,
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
]);

/** An attestation as it was verified: a Sigstore bundle or a bare DSSE envelope, byte for byte. */
export interface ConsumerAttestation {
  bytes: Uint8Array;
  /** The in-toto statement's predicateType, as verified. */
  predicateType: string;
  /** Extra annotations on both the referrer and the `.att` layer (e.g. the decision id). */
  annotations?: Record<string, string>;
}

/** Where the attestation was attached. */
export interface AttachedForConsumers {
  /** Digest of the referrer manifest. */
  referrer: string;
  /** Digest of the `.att` manifest after the layer was added. */
  cosignManifest: string;
  /**
   * The attachment tags written, with the manifest each names now: the `.att` tag, and the
   * referrers fallback tag on a registry without the referrers API.
   */
  tags: Array<{ tag: string; digest: string }>;
}

type Parsed =
  | { form: 'bundle'; bundle: SigstoreBundleJson; envelope: DsseEnvelope }
  | { form: 'dsse'; envelope: DsseEnvelope };

function parse(bytes: Uint8Array, where: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new GateError('BUNDLE_MALFORMED', `${where}: not JSON`, { cause });
  }
  const bundle = SigstoreBundleSchema.safeParse(json);
  if (bundle.success && bundle.data.verificationMaterial !== undefined) {
    if (!bundle.data.dsseEnvelope) {
      throw new GateError(
        'BUNDLE_MALFORMED',
        `${where}: a bundle without a DSSE envelope is not an attestation`,
      );
    }
    return { form: 'bundle', bundle: bundle.data, envelope: bundle.data.dsseEnvelope };
  }
  const envelope = DsseEnvelopeSchema.safeParse(json);
  if (!envelope.success || envelope.data.signatures.length === 0) {
    throw new GateError('BUNDLE_MALFORMED', `${where}: neither a Sigstore bundle nor a signed DSSE envelope`);
  }
  return { form: 'dsse', envelope: envelope.data };
}

/** A DSSE envelope with its standard fields only (envelope.md), as cosign writes one. */
function standardEnvelope(envelope: DsseEnvelope) {
  return {
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid ?? '', sig: s.sig })),
  };
}

const pem = (base64Der: string) =>
  `-----BEGIN CERTIFICATE-----\n${(base64Der.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;

/**
 * The cosign annotations for a bundle's verification material (cosign pkg/oci/static):
 * the leaf certificate, the rest of the chain, and the Rekor entry as cosign's
 * `dev.sigstore.cosign/bundle` when the bundle has an inclusion promise. A key-signed
 * bundle has none of them, which is how cosign marks a key-signed layer too.
 */
function cosignAnnotationsOf(bundle: SigstoreBundleJson): Record<string, string> {
  const material = bundle.verificationMaterial;
  const certificates = material.certificate
    ? [material.certificate]
    : (material.x509CertificateChain?.certificates ?? []);
  const out: Record<string, string> = {};
  const [leaf, ...chain] = certificates;
  if (leaf) out[COSIGN_ANNOTATIONS.certificate] = pem(leaf.rawBytes);
  if (chain.length > 0) out[COSIGN_ANNOTATIONS.chain] = chain.map((c) => pem(c.rawBytes)).join('');
  const entry = material.tlogEntries?.[0];
  if (entry?.inclusionPromise && entry.integratedTime !== undefined) {
    out[COSIGN_ANNOTATIONS.bundle] = JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    });
  }
  return out;
}

/**
 * The referrer's artifact: a v0.3 bundle as it is; a bare key-signed DSSE envelope wrapped
 * in a v0.3 bundle with a public-key hint (its first keyid, unsigned like the keyid
 * itself); an older bundle as it is under its own media type, since cosign reads only v0.3
 * from referrers (cosign pkg/oci/remote/signatures.go Bundle).
 */
function referrerArtifactOf(parsed: Parsed, bytes: Uint8Array): { mediaType: string; bytes: Uint8Array } {
  if (parsed.form === 'bundle') {
    const v03 = V03_MEDIA_TYPES.has(parsed.bundle.mediaType);
    return { mediaType: v03 ? BUNDLE_V03_MEDIA_TYPE : parsed.bundle.mediaType, bytes };
  }
  const wrapped = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: parsed.envelope.signatures[0]?.keyid ?? '' },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: standardEnvelope(parsed.envelope),
  };
  return { mediaType: BUNDLE_V03_MEDIA_TYPE, bytes: Buffer.from(JSON.stringify(wrapped), 'utf8') };
}

/**
 * Attaches an attestation to `subjectDigest` both as a bundle referrer and as a layer of
 * the cosign `.att` manifest. Every byte attached is a pure function of the input, so a
 * retry attaches nothing new.
 */
export async function attachForConsumers(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  attestation: ConsumerAttestation,
): Promise<AttachedForConsumers> {
  const parsed = parse(attestation.bytes, `attestation for ${repo}@${subjectDigest}`);
  const artifact = referrerArtifactOf(parsed, attestation.bytes);
  const referrer = await attachReferrer(client, repo, subjectDigest, artifact.mediaType, [artifact], {
    [BUNDLE_ANNOTATIONS.predicateType]: attestation.predicateType,
    [BUNDLE_ANNOTATIONS.content]: 'dsse-envelope',
    ...attestation.annotations,
  });
  // A bare envelope goes into `.att` byte for byte (the bytes the gate verified and archived).
  const envelope =
    parsed.form === 'dsse'
      ? attestation.bytes
      : Buffer.from(JSON.stringify(standardEnvelope(parsed.envelope)), 'utf8');
  const cosignManifest = await attachCosignAttestations(client, repo, subjectDigest, [
    {
      envelope,
      annotations: {
        [COSIGN_ANNOTATIONS.predicateType]: attestation.predicateType,
        ...(parsed.form === 'bundle' ? cosignAnnotationsOf(parsed.bundle) : {}),
        ...attestation.annotations,
      },
    },
  ]);
  const tags = [{ tag: cosignAttestationTag(subjectDigest), digest: cosignManifest }];
  if (!(await client.hasReferrersApi(repo, subjectDigest))) {
    const fallback = referrersTag(subjectDigest);
    tags.push({ tag: fallback, digest: (await client.resolve(repo, fallback)).digest });
  }
  return { referrer, cosignManifest, tags };
}

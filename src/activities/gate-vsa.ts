/**
 * Attaching to an image in a release repository: attestations in the forms consumers read,
 * recorded per attachment tag, and a VSA the gate signs, once (the publish's PASSED VSA and a
 * revocation's FAILED one). ECDSA signatures differ on every signing, so a
 * retried activity must find the VSA an earlier attempt attached (by its marker annotation,
 * then by our own signature on it) instead of signing a second one.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { IntotoStatementSchema } from '../core/formats/intoto/statement.ts';
import { BUNDLE_V03_MEDIA_TYPE, SigstoreBundleSchema } from '../core/formats/sigstore/bundle-v1.ts';
import { SLSA_VSA_V1, SlsaVsaV1Schema, type SlsaVsaV1 } from '../core/formats/slsa/vsa-v1.ts';
import { pae, verifySignature } from '../core/verify/dsse-pae.ts';
import type { VsaStatement } from '../core/vsa/vsa-statement.ts';
import type { RegistryClient } from '../registry/client.ts';
import {
  attachForConsumers,
  type AttachedForConsumers,
  type ConsumerAttestation,
} from '../registry/consumer-attestations.ts';
import {
  attachCosignSignature,
  findCosignSignatures,
  simpleSigningPayload,
} from '../registry/cosign-signatures.ts';
import { getReferrer, listReferrers } from '../registry/referrers.ts';
import { signStatementBundle } from '../signing/sign-bundle.ts';
import type { ActivityDeps } from './deps.ts';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** What to attach, and how to archive it. */
export interface GateVsaAttachment {
  target: RegistryClient;
  repository: string;
  subjectDigest: string;
  /** The annotation that tells this VSA from the image's other referrers (unsigned: only a hint). */
  marker: { key: string; value: string };
  verificationResult: 'PASSED' | 'FAILED';
  /** Builds the statement to sign when no earlier attempt attached one. */
  statement: () => VsaStatement;
  /** The archived VSA's decision, policy digest and time. */
  record: { decisionId: string; resourceUri: string; policyDigest: string; at: string };
}

/**
 * Attaches an attestation in the forms consumers read, then records which manifest the gate
 * left under each attachment tag it wrote, so the drift monitor can tell the gate's
 * attachments from an image pushed under an attachment-shaped tag.
 */
export async function attachRecorded(
  deps: ActivityDeps,
  target: RegistryClient,
  repo: string,
  subjectDigest: string,
  attestation: ConsumerAttestation,
): Promise<AttachedForConsumers> {
  const attached = await attachForConsumers(target, repo, subjectDigest, attestation);
  await deps.archive.recordAttachmentTags(
    `${target.host}/${repo}`,
    subjectDigest,
    attached.tags,
    new Date().toISOString(),
  );
  return attached;
}

/**
 * Signs the published image with the VSA key as `cosign sign --key` would (docs/consumers.md#is-it-signed),
 * once: a signature by this key over a payload naming this digest already under the `.sig` tag
 * (an earlier attempt's) is kept, since ECDSA signatures differ on every signing. The tag is
 * recorded like the other attachment tags (the drift monitor skips what the gate wrote).
 */
export async function signPublishedImage(
  deps: ActivityDeps,
  target: RegistryClient,
  repo: string,
  subjectDigest: string,
): Promise<void> {
  const key = createPublicKey(deps.signer.publicKeyPem);
  const { layers, signatures } = await findCosignSignatures(target, repo, subjectDigest);
  const signedHere = signatures.some((s) => {
    let named: unknown;
    try {
      named = (
        JSON.parse(Buffer.from(s.payload).toString('utf8')) as {
          critical?: { image?: Record<string, unknown> };
        }
      ).critical?.image?.['docker-manifest-digest'];
    } catch {
      return false;
    }
    return named === subjectDigest && verifySignature(key, s.payload, Buffer.from(s.signature, 'base64'));
  });
  if (signedHere) return;
  const payload = simpleSigningPayload(`${target.host}/${repo}`, subjectDigest);
  const signature = Buffer.from(await deps.signer.sign(payload)).toString('base64');
  const written = await attachCosignSignature(target, repo, subjectDigest, layers, { payload, signature });
  await deps.archive.recordAttachmentTags(
    `${target.host}/${repo}`,
    subjectDigest,
    [written],
    new Date().toISOString(),
  );
}

/** Attaches (or finds attached) the gate's VSA, archives it, and returns its digest. */
export async function attachGateVsa(
  deps: ActivityDeps,
  vsa: GateVsaAttachment,
): Promise<{ vsaDigest: string }> {
  const { target, repository: repo, subjectDigest } = vsa;
  const attach = (bytes: Uint8Array) =>
    attachRecorded(deps, target, repo, subjectDigest, {
      bytes,
      predicateType: SLSA_VSA_V1,
      annotations: { [vsa.marker.key]: vsa.marker.value },
    });
  const archive = (bytes: Uint8Array, levels: string[]) =>
    deps.archive.storeVsa({
      raw: Buffer.from(bytes).toString('base64'),
      direction: 'issued',
      decisionId: vsa.record.decisionId,
      subjectDigest,
      resourceUri: vsa.record.resourceUri,
      verifierId: deps.settings.verifierId,
      verifiedLevels: levels,
      policyDigest: vsa.record.policyDigest,
      at: vsa.record.at,
    });

  for (const descriptor of await listReferrers(target, repo, subjectDigest, BUNDLE_V03_MEDIA_TYPE)) {
    if (descriptor.annotations?.[vsa.marker.key] !== vsa.marker.value) continue;
    const referrer = await getReferrer(target, repo, subjectDigest, descriptor);
    const layer = referrer.manifest.layers[0];
    if (!layer) continue;
    const bytes = await target.getAttestationLayer(repo, layer);
    const found = ownVsa(bytes, deps.signer.publicKeyPem, subjectDigest);
    if (found?.verificationResult !== vsa.verificationResult) continue;
    // A retry may find the referrer attached but not yet the `.att` layer.
    await attach(bytes);
    // A retry after a failure between attaching and archiving (worker killed, store
    // unreachable) archives the VSA it finds attached; when it is archived already, a no-op.
    await archive(bytes, found.verifiedLevels);
    return { vsaDigest: sha256(bytes) };
  }

  const statement = vsa.statement();
  const bundle = await signStatementBundle(statement, deps.signer);
  const bytes = Buffer.from(JSON.stringify(bundle), 'utf8');
  await attach(bytes);
  await archive(bytes, statement.predicate.verifiedLevels);
  return { vsaDigest: sha256(bytes) };
}

/**
 * The predicate of a VSA found attached, when it is ours: signed by this control point's key
 * and about this digest. Anyone who can push to the release repository can plant a referrer
 * with our marker; such a one is ignored.
 */
function ownVsa(bytes: Uint8Array, publicKeyPem: string, subjectDigest: string): SlsaVsaV1 | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const bundle = SigstoreBundleSchema.safeParse(json);
  const envelope = bundle.success ? bundle.data.dsseEnvelope : undefined;
  const sig = envelope?.signatures[0]?.sig;
  if (envelope === undefined || sig === undefined) return undefined;
  const payload = Buffer.from(envelope.payload, 'base64');
  if (
    !verifySignature(
      createPublicKey(publicKeyPem),
      pae(envelope.payloadType, payload),
      Buffer.from(sig, 'base64'),
    )
  )
    return undefined;
  let statementJson: unknown;
  try {
    statementJson = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const statement = IntotoStatementSchema.safeParse(statementJson);
  if (!statement.success || statement.data.predicateType !== SLSA_VSA_V1) return undefined;
  if (statement.data.subject[0]?.digest.sha256 !== subjectDigest.slice('sha256:'.length)) return undefined;
  const predicate = SlsaVsaV1Schema.safeParse(statement.data.predicate);
  return predicate.success ? predicate.data : undefined;
}

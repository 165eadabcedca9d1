/**
 * Time-of-use verification of a published image (SLSA verification_summary.md §How to
 * verify): pin the reference to a digest, read the VSAs attached to it (bundle referrers,
 * the referrers tag fallback and the cosign `.att` tag), and accept the image only if one
 * of them is signed by a configured gate key, is about this digest, names the expected
 * verifier and resource, says PASSED and verified at least the required levels.
 *
 * Anyone who can push to the repository can attach anything: attached attestations that do
 * not verify are reported and ignored, never a reason to pass, and never a reason to fail
 * when a genuine VSA is there too. A VSA that a gate key signed for this digest and that
 * says FAILED is how the gate revokes a digest: it fails the image whatever else is attached.
 */
import { createHash } from 'node:crypto';
import { GateError, isGateError, type ErrorCode } from '../core/errors.ts';
import type { ArtifactRef, VerifiedAttestation } from '../core/model.ts';
import { vsaRequirementOf } from '../core/policy/guards/vsa.ts';
import { verifyAndJudgeVsas } from '../core/verify-and-evaluate.ts';
import { ruleFromVerifierFlags } from '../core/policy/verifier-flags.ts';
import { loadTrustMaterial } from '../loaders/trust-material-files.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { cosignLayerToInput } from '../core/verify/oci-layout.ts';
import { SLSA_VSA_V1 } from '../core/formats/slsa/vsa-v1.ts';
import type { RegistryClient } from '../registry/client.ts';
import { findCosignAttestations } from '../registry/cosign-attestations.ts';
import { BUNDLE_ANNOTATIONS } from '../registry/consumer-attestations.ts';
import { MEDIA_TYPES } from '../registry/oci-manifest.ts';
import { getReferrer, listReferrers } from '../registry/referrers.ts';
import { BUNDLE_MEDIA_TYPES } from '../core/formats/sigstore/bundle-v1.ts';

/** What a consumer requires of the image's VSA. Every field is required: nothing is assumed. */
export interface PublishedVsaExpectation {
  /** The gate's public keys (PEM); a VSA counts only when one of them verifies its signature. */
  publicKeys: string[];
  verifierId: string;
  resourceUri: string;
  /** `SLSA_BUILD_LEVEL_n`…: each must be met (a higher level on the same track meets it); empty: PASSED is enough. */
  verifiedLevels: string[];
}

/**
 * The revocation hook of consumers with access to the gate's archive: why the digest was
 * revoked, or undefined when it was not (src/consumers/archive-revocation.ts).
 */
export type VsaRevocationCheck = (subjectDigest: string) => Promise<string | undefined>;

/** The verdict on one image. */
export interface PublishedVsaVerdict {
  outcome: 'PASSED' | 'FAILED';
  reference: string;
  digest: string;
  /** When FAILED: the code and reason of the first failure. */
  failure?: { code: ErrorCode; reason: string };
  /** The VSA accepted, when PASSED. */
  accepted?: { origin: string; verifiedLevels: string[]; payloadSha256: string };
  /** Every attached attestation that was not accepted, with why. */
  ignored: Array<{ origin: string; code: ErrorCode; message: string }>;
}

/** Layer media types read from referrers as attestations. */
const REFERRER_LAYER_TYPES = new Set<string>([...Object.keys(BUNDLE_MEDIA_TYPES), MEDIA_TYPES.dsseEnvelope]);

/**
 * Reads the attestations attached to `repo@digest` that claim to be VSAs: referrers whose
 * predicate-type annotation is the VSA's or absent (the annotation is unsigned, so it only
 * skips what does not even claim to be one), and every `.att` layer.
 */
export async function collectAttachedVsas(
  client: RegistryClient,
  repo: string,
  digest: string,
): Promise<{ inputs: AttestationInput[]; ignored: PublishedVsaVerdict['ignored'] }> {
  const inputs: AttestationInput[] = [];
  const ignored: PublishedVsaVerdict['ignored'] = [];
  const where = `oci://${client.host}/${repo}`;
  const guard = (origin: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!isGateError(err)) throw err;
      ignored.push({ origin, code: err.code, message: err.message });
    }
  };
  for (const descriptor of await listReferrers(client, repo, digest)) {
    const claimed = descriptor.annotations?.[BUNDLE_ANNOTATIONS.predicateType];
    if (claimed !== undefined && claimed !== SLSA_VSA_V1) continue;
    const referrer = await getReferrer(client, repo, digest, descriptor);
    for (const [i, layer] of referrer.manifest.layers.entries()) {
      if (!REFERRER_LAYER_TYPES.has(layer.mediaType)) continue;
      const origin = `${where}@${referrer.digest}#layers[${i}]`;
      const bytes = await client.getAttestationLayer(repo, layer);
      guard(origin, () => inputs.push(...loadAttestations(bytes, origin)));
    }
  }
  const cosign = await findCosignAttestations(client, repo, digest);
  for (const [i, layer] of (cosign?.layers ?? []).entries()) {
    const claimed = layer.annotations?.predicateType;
    if (claimed !== undefined && claimed !== SLSA_VSA_V1) continue;
    const origin = `${where}:${cosign!.tag}@${cosign!.manifestDigest}#layers[${i}]`;
    const bytes = await client.getAttestationLayer(repo, layer);
    guard(origin, () => inputs.push(cosignLayerToInput(Buffer.from(bytes), layer.annotations ?? {}, origin)));
  }
  return { inputs, ignored };
}

/**
 * What is attached to `repo@digest`, as a value that changes whenever an attestation is
 * attached or removed: the referrers' manifest digests and the `.att` manifest's digest. A
 * revocation attaches a FAILED VSA both ways, so it changes this value; a verdict remembered
 * with the value it was reached on holds only while the value is the same.
 */
export async function attachmentsFingerprint(
  client: RegistryClient,
  repo: string,
  digest: string,
): Promise<string> {
  const referrers = (await listReferrers(client, repo, digest)).map((d) => d.digest).sort();
  const cosign = await findCosignAttestations(client, repo, digest);
  return JSON.stringify({ referrers, cosign: cosign?.manifestDigest ?? null });
}

function payloadSha256(att: VerifiedAttestation): string {
  return `sha256:${createHash('sha256').update(Buffer.from(att.payload, 'base64')).digest('hex')}`;
}

/**
 * The pure half: verifies the collected inputs with the gate keys only and applies the
 * expectation. Returns the VSAs that pass, best first, the gate's FAILED VSAs about this
 * digest (its revocations), and why every other one did not count.
 */
export function acceptedVsas(
  inputs: AttestationInput[],
  artifact: ArtifactRef,
  expect: PublishedVsaExpectation,
  now?: Date,
): {
  accepted: VerifiedAttestation[];
  revoked: PublishedVsaVerdict['ignored'];
  ignored: PublishedVsaVerdict['ignored'];
} {
  if (expect.publicKeys.length === 0) {
    throw new GateError(
      'INPUT_INVALID',
      'no gate public key: a VSA is accepted only when a configured key signed it',
    );
  }
  // The flags' rule checks the expectation (INPUT_INVALID naming the flag): its signers are
  // the configured keys, speaking for the one --verifier-id.
  const requirement = vsaRequirementOf(
    ruleFromVerifierFlags({
      mode: 'vsa',
      verifierId: expect.verifierId,
      resourceUri: expect.resourceUri,
      verifiedLevels: expect.verifiedLevels,
    }),
  )!;
  // Keys configured without an id apply to any key hint: the hint and the DSSE keyid are
  // unsigned, so the key that verifies the signature is what authenticates (DSSE protocol.md).
  const trust = loadTrustMaterial({ publicKeys: expect.publicKeys.map((pem) => ({ keyId: '', pem })) });
  // The trusted root loaded alongside would verify a keyless VSA from any Sigstore identity:
  // only a signature by one of the gate keys counts, and those keys speak for the one
  // verifier the consumer names. The gate signs FAILED only to revoke a digest
  // (docs/consumers.md#revoked-images): it fails the image whichever verifier or resource it
  // names and however old it is, so a newer PASSED VSA cannot lift a revocation.
  const { accepted, rejected } = verifyAndJudgeVsas(
    { artifact, attestations: inputs, trust, ...(now ? { now } : {}) },
    { ...requirement, failedRevokes: true },
  );
  return {
    accepted: accepted.map((a) => a.attestation),
    revoked: rejected.filter((r) => r.code === 'REVOKED'),
    ignored: rejected.filter((r) => r.code !== 'REVOKED'),
  };
}

/** The VSAs collected for one digest, to be judged (the verification pool's input: plain data). */
export interface PublishedVsaItem {
  inputs: AttestationInput[];
  artifact: ArtifactRef;
  expect: PublishedVsaExpectation;
  /** ISO 8601; absent: the time of the check. */
  now?: string;
}

export type PublishedVsaJudgement = ReturnType<typeof acceptedVsas>;

/** `acceptedVsas` over one item: the handler the drift monitor runs on its verification threads. */
export function publishedVsaVerifier(): (item: PublishedVsaItem) => PublishedVsaJudgement {
  return (item) =>
    acceptedVsas(item.inputs, item.artifact, item.expect, item.now ? new Date(item.now) : undefined);
}

/**
 * Pins `reference` (a tag is resolved once, a digest is checked) and verifies its VSA; `judge`
 * runs the verification elsewhere (the drift monitor's verification threads), in this thread by default.
 */
export async function verifyPublishedImage(
  client: RegistryClient,
  image: { repository: string; tag?: string; digest?: string },
  expect: PublishedVsaExpectation,
  opts: {
    isRevoked?: VsaRevocationCheck;
    now?: Date;
    judge?: (item: PublishedVsaItem) => Promise<PublishedVsaJudgement>;
  } = {},
): Promise<PublishedVsaVerdict> {
  const pinned = await client.resolve(image.repository, image.digest ?? image.tag ?? '');
  if (image.digest !== undefined && pinned.digest !== image.digest) {
    throw new GateError(
      'DIGEST_MISMATCH',
      `${image.repository}@${image.digest} resolves to ${pinned.digest}`,
    );
  }
  const digest = pinned.digest;
  const reference = `${client.host}/${image.repository}@${digest}`;
  const artifact: ArtifactRef = {
    digests: { sha256: digest.replace(/^sha256:/, '') },
    uri: `oci://${reference}`,
  };
  const revokedVerdict = (
    reason: string,
    ignored: PublishedVsaVerdict['ignored'] = [],
  ): PublishedVsaVerdict => ({
    outcome: 'FAILED',
    reference,
    digest,
    failure: { code: 'REVOKED', reason },
    ignored,
  });
  const archived = await opts.isRevoked?.(digest);
  if (archived !== undefined) return revokedVerdict(`the gate's archive: ${archived}`);
  const collected = await collectAttachedVsas(client, image.repository, digest);
  const item: PublishedVsaItem = {
    inputs: collected.inputs,
    artifact,
    expect,
    ...(opts.now ? { now: opts.now.toISOString() } : {}),
  };
  const { accepted, revoked, ignored } = opts.judge ? await opts.judge(item) : publishedVsaVerifier()(item);
  ignored.unshift(...collected.ignored);
  const [revocation] = revoked;
  if (revocation)
    return revokedVerdict(
      `${revocation.origin}: a VSA signed by the gate's key says FAILED: ${digest} was revoked`,
      ignored,
    );
  const [best] = accepted;
  if (best) {
    const levels =
      (best.statement?.predicate as { verifiedLevels?: string[] } | undefined)?.verifiedLevels ?? [];
    return {
      outcome: 'PASSED',
      reference,
      digest,
      accepted: { origin: best.origin, verifiedLevels: levels, payloadSha256: payloadSha256(best) },
      ignored,
    };
  }
  return {
    outcome: 'FAILED',
    reference,
    digest,
    failure:
      ignored.length === 0
        ? { code: 'NO_PROVENANCE', reason: `no VSA is attached to ${reference}` }
        : {
            code: 'VSA_MISMATCH',
            reason: `no attached VSA is accepted: ${ignored.map((i) => `${i.origin}: ${i.code}: ${i.message}`).join(' | ')}`,
          },
    ignored,
  };
}

import { Context } from '@temporalio/activity';
import { GateError, isGateError, isRetryableError } from '../core/errors.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE } from '../core/formats/dsse/envelope-v1.ts';
import { BUNDLE_MEDIA_TYPES } from '../core/formats/sigstore/bundle-v1.ts';
import type { EvaluatedAttestation, VerifiedAttestation } from '../core/model.ts';
import { normaliseProvenance } from '../core/provenance/normalise-provenance.ts';
import { evidenceFactsOf, type EvidenceFacts } from '../core/provenance/evidence-facts.ts';
import { isProvenancePredicateType, type Provenance } from '../core/provenance/provenance.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations, MAX_ATTESTATIONS } from '../core/verify/load-attestations.ts';
import { contentDigest } from '../core/verify/dsse-envelope.ts';
import { cosignLayerToInput } from '../core/verify/oci-layout.ts';
import { boundedRejections, type RejectedAttestation } from '../core/verify/verify-attestations.ts';
import { verifyEvidence, withinV01Stance } from '../core/verify-and-evaluate.ts';
import type { RegistryClient } from '../registry/client.ts';
import { IMAGE_MANIFEST_TYPES } from '../registry/oci-manifest.ts';
import { artifactKindOf, type Candidate } from '../workflows/contract.ts';
import { artifactOf } from './candidate-artifact.ts';
import type { ActivityDeps } from './deps.ts';
import { getReferrer, listReferrers } from '../registry/referrers.ts';
import { findCosignAttestations } from '../registry/cosign-attestations.ts';

export interface CollectedEvidence {
  /** Content digests of every attestation archived for this candidate, verified or not. */
  digests: string[];
  /** Why each attestation that did not verify was set aside (visible in the run's history). */
  rejected: RejectedAttestation[];
  facts: EvidenceFacts;
  /**
   * What verified, as evaluatePolicy evaluates it: the one verification of this publish
   * (docs/security-model.md#one-verification-per-publish). Absent when it is larger than
   * MAX_CARRIED_BYTES: the run's history stays bounded, and the evaluation verifies again.
   */
  verified?: EvaluatedAttestation[];
  /** The digest of the trust material every attestation was verified under. */
  trustDigest: string;
  /** Seconds the verification took (slsa_gate_verification_duration_seconds adds the evaluation's). */
  verifySeconds: number;
}

/**
 * The most JSON `verified` may take in a run's history, where it is recorded twice (this
 * step's result, the evaluation's input): well under Temporal's 2 MiB limit per payload.
 */
export const MAX_CARRIED_BYTES = 256 * 1024;

/** What evaluatePolicy needs of an attestation: the verified result without its bytes, which are archived. */
function carriedOf({ raw: _raw, payload: _payload, ...carried }: VerifiedAttestation): EvaluatedAttestation {
  return carried;
}

/** Referrer layers read as attestations: Sigstore bundles and bare DSSE envelopes. */
const ATTESTATION_LAYER_TYPES = new Set<string>([
  ...Object.keys(BUNDLE_MEDIA_TYPES),
  DSSE_ENVELOPE_MEDIA_TYPE,
]);

interface Fetched {
  input: AttestationInput;
  /** Self-contained bytes to archive: what the input can be re-loaded from. */
  archived: Uint8Array;
}

/**
 * `load()` of an attached referrer or layer (fetched and read), or undefined when it cannot be:
 * anyone who can push to the staging repository can attach one (oversized, missing, not JSON), so one that
 * does not load is set aside as a rejection instead of failing the whole step, which would let
 * it block every publish of the image (docs/checklist.md#row-18: one attestation failing does
 * not taint another). A retryable failure (the registry is down) still fails the attempt.
 */
async function setAsideUnloadable<T>(
  origin: string,
  skipped: RejectedAttestation[],
  load: () => T | Promise<T>,
): Promise<T | undefined> {
  try {
    return await load();
  } catch (err) {
    if (!isGateError(err) || isRetryableError(err)) throw err;
    skipped.push({ origin, code: err.code, message: err.message });
    return undefined;
  }
}

/** Attestations attached to the image: OCI referrers (API or tag fallback) and cosign `.att` tags. */
async function fetchFromRegistry(
  client: RegistryClient,
  candidate: Candidate,
  skipped: RejectedAttestation[],
): Promise<Fetched[]> {
  const { repository: repo, digest } = candidate;
  const found: Fetched[] = [];
  const heartbeat = (detail: string) => Context.current().heartbeat(detail);

  for (const descriptor of await listReferrers(client, repo, digest)) {
    heartbeat(`referrer ${descriptor.digest}`);
    const origin = `oci://${candidate.registry}/${repo}@${descriptor.digest}`;
    // Anyone who can push to the staging repository can attach referrers: one that is not
    // an attestation manifest, or not about this image, is set aside instead of failing
    // the whole step (which would let it block every publish of the image).
    if (!IMAGE_MANIFEST_TYPES.includes(descriptor.mediaType)) {
      skipped.push({
        origin,
        code: 'INPUT_INVALID',
        message: `referrer is a ${descriptor.mediaType}, not an image manifest`,
      });
      continue;
    }
    const referrer = await setAsideUnloadable(origin, skipped, () =>
      getReferrer(client, repo, digest, descriptor),
    );
    if (referrer === undefined) continue;
    for (const layer of referrer.manifest.layers) {
      if (!ATTESTATION_LAYER_TYPES.has(layer.mediaType)) continue;
      const origin = `oci://${candidate.registry}/${repo}@${referrer.digest}/${layer.digest}`;
      const inputs =
        (await setAsideUnloadable(origin, skipped, async () =>
          loadAttestations(await client.getAttestationLayer(repo, layer), origin),
        )) ?? [];
      for (const input of inputs) found.push({ input, archived: input.raw });
    }
  }

  const cosign = await findCosignAttestations(client, repo, digest);
  for (const layer of cosign?.layers ?? []) {
    heartbeat(`cosign layer ${layer.digest}`);
    const origin = `oci://${candidate.registry}/${repo}:${cosign?.tag}/${layer.digest}`;
    const loaded = await setAsideUnloadable(origin, skipped, async () => {
      const bytes = Buffer.from(await client.getAttestationLayer(repo, layer));
      return { bytes, input: cosignLayerToInput(bytes, layer.annotations ?? {}, origin) };
    });
    if (loaded === undefined) continue;
    const { bytes, input } = loaded;
    // A cosign layer's certificate and log entry live in annotations: archive the
    // assembled bundle so the stored bytes verify on their own.
    const archived = input.form === 'bundle' ? Buffer.from(JSON.stringify(input.json), 'utf8') : bytes;
    found.push({ input: { ...input, raw: archived }, archived });
  }
  return found;
}

/** Facts from the first verified SLSA provenance, for level lookups and the UI's search attributes. */
function factsOf(verified: VerifiedAttestation[]): EvidenceFacts {
  for (const att of verified) {
    const provenance = provenanceOf(att);
    if (provenance !== undefined) return evidenceFactsOf(provenance);
  }
  return { dependencies: [] };
}

/**
 * The normalised provenance of a verified attestation, if it is readable SLSA provenance
 * the signer's certificate does not contradict (a contradicted one names no facts).
 */
function provenanceOf(att: VerifiedAttestation): Provenance | undefined {
  if (!isProvenancePredicateType(att.predicateType)) return undefined;
  try {
    const { provenance, findings } = normaliseProvenance(att);
    return findings.length === 0 ? provenance : undefined;
  } catch (err) {
    if (!isGateError(err)) throw err;
    return undefined;
  }
}

export function createEvidenceActivities(deps: ActivityDeps) {
  return {
    /**
     * Fetches every attestation of the candidate, verifies each once, and archives all of them
     * (content-addressed); what verified travels to evaluatePolicy.
     */
    async collectEvidence(input: {
      candidate: Candidate;
      inline: Array<{ origin: string; raw: string }>;
    }): Promise<CollectedEvidence> {
      const { candidate } = input;
      const fetched: Fetched[] = [];
      for (const att of input.inline) {
        const bytes = Buffer.from(att.raw, 'base64');
        for (const loaded of loadAttestations(bytes, att.origin))
          fetched.push({ input: loaded, archived: loaded.raw });
      }
      const skipped: RejectedAttestation[] = [];
      // An npm registry holds no attestations of a third party: an npm package's come with the request.
      if (artifactKindOf(candidate) !== 'npm-package')
        fetched.push(...(await fetchFromRegistry(deps.registry(candidate.registry), candidate, skipped)));
      if (fetched.length > MAX_ATTESTATIONS) {
        throw new GateError(
          'LIMIT_EXCEEDED',
          `${fetched.length} attestations for ${candidate.digest}, over ${MAX_ATTESTATIONS}`,
        );
      }

      // The one verification of this publish. It accepts v0.1 bundles without an inclusion
      // proof so that the rule in force decides on them at evaluation (withinV01Stance);
      // what this step derives (facts, archived metadata) is from what verifies without it.
      const artifact = await artifactOf(deps, candidate);
      const started = performance.now();
      const evidence = verifyEvidence({
        artifact,
        attestations: fetched.map((f) => f.input),
        trust: deps.trust,
        allowV01WithoutInclusionProof: true,
      });
      const verifySeconds = (performance.now() - started) / 1000;
      const { verified } = withinV01Stance(evidence, false);
      // By origin and content: an origin is the requester's to write for an attestation it
      // sends, so one that repeats another's never lends it its verification.
      const verifiedAs = (origin: string, digest: string) => `${digest} ${origin}`;
      const byOrigin = new Map(verified.map((v) => [verifiedAs(v.origin, v.digest), v]));
      const fetchedAt = new Date().toISOString();
      const { digests } = await deps.archive.storeAttestations(
        fetched.map(({ input: att, archived }) => {
          const v = byOrigin.get(verifiedAs(att.origin, contentDigest(att.raw)));
          const provenance = v === undefined ? undefined : provenanceOf(v);
          const subjects = v?.statement?.subject ?? [];
          return {
            raw: Buffer.from(archived).toString('base64'),
            ...(v?.predicateType ? { predicateType: v.predicateType } : {}),
            subjects: subjects.map((s) => ({ ...(s.name ? { name: s.name } : {}), digest: s.digest })),
            ...(v?.signer.identity ? { signerIdentity: v.signer.identity } : {}),
            ...(v?.signer.issuer ? { signerIssuer: v.signer.issuer } : {}),
            ...(v?.signer.keyId ? { signerKeyId: v.signer.keyId } : {}),
            ...(provenance ? { builderId: provenance.builder.id } : {}),
            ...(provenance?.source?.uri ? { sourceRepo: provenance.source.uri } : {}),
            ...(provenance?.source?.commit ? { sourceCommit: provenance.source.commit } : {}),
            origin: att.origin,
            fetchedAt,
          };
        }),
      );
      const carried = evidence.verified.map(carriedOf);
      const fits = Buffer.byteLength(JSON.stringify(carried), 'utf8') <= MAX_CARRIED_BYTES;
      return {
        digests,
        rejected: boundedRejections([...skipped, ...evidence.rejected]),
        facts: factsOf(verified),
        ...(fits ? { verified: carried } : {}),
        trustDigest: deps.trust.digest,
        verifySeconds,
      };
    },
  };
}

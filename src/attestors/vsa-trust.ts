/**
 * Trust in attestors (guac: *verified* is not *trusted*). A VSA proves a level only when
 *  1. its signature verifies through the core's front door (src/core/verify-and-evaluate.ts),
 *     against the keys and Fulcio identities configured as VSA signers, and the statement
 *     binds to the resource's digest;
 *  2. the `vsa` guard accepts it (src/core/policy/guards/vsa.ts): the signer is a configured
 *     one, the predicate's `verifier.id` is a verifier that signer is configured to speak for,
 *     `resourceUri` is the resource's, `verificationResult` is PASSED, and for a git revision
 *     the subject's `gitCommit` is the built commit with the built ref in its `source_refs`;
 *  3. the level is capped at the maximum that verifier is trusted for on that track.
 * Anything else is ignored with a coded reason (fail closed: level 0 for that evidence).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { GateError, isGateError, type ErrorCode } from '../core/errors.ts';
import type { ArtifactRef } from '../core/model.ts';
import type { VsaSigner } from '../core/policy/guards/vsa.ts';
import { verifyAndJudgeVsas, type AcceptedVsa } from '../core/verify-and-evaluate.ts';
import { parseSlsaLevel } from '../core/vsa/verification-summary.ts';
import type { TrustMaterial } from '../core/trust/trust-material.ts';
import { loadTrustMaterial } from '../loaders/trust-material-files.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import {
  reasonOf,
  type AttestorAnswer,
  type AttestorEvidence,
  type Reason,
  type Resource,
  type TrackLevels,
} from './attestor.ts';

const LevelSchema = z.number().int().min(0).max(4);

/** One trusted verifier: its `verifier.id` and up to which level per track its VSAs count. */
export const TrustedVerifierSchema = z.strictObject({
  /** The VSA's `verifier.id`. */
  id: z.string().min(1),
  tracks: z.strictObject({ BUILD: LevelSchema.optional(), SOURCE: LevelSchema.optional() }),
});
export type TrustedVerifier = z.infer<typeof TrustedVerifierSchema>;

/**
 * One VSA signer: a key (its id and PEM, inline or as a file next to the attestors file) or
 * a Fulcio identity and issuer, and the verifier ids it may speak for. `verifierIds` is
 * required: a signer speaks for no verifier unless listed, or for every configured
 * verifier only where the operator wrote `any`.
 */
export const VsaSignerConfigSchema = z
  .strictObject({
    /** Key id (the bundle's key hint or the DSSE keyid) and its PEM public key. */
    keyId: z.string().min(1).optional(),
    publicKey: z.string().includes('PUBLIC KEY').optional(),
    /** The PEM file of the key, relative to the attestors file. */
    publicKeyFile: z.string().min(1).optional(),
    /** Certificate SAN and OIDC issuer of a Fulcio-signed VSA, compared exactly. */
    identity: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    verifierIds: z.union([z.array(z.string().min(1)).min(1), z.literal('any')]),
  })
  .refine(
    (s) =>
      (s.keyId !== undefined &&
        (s.publicKey === undefined) !== (s.publicKeyFile === undefined) &&
        s.identity === undefined &&
        s.issuer === undefined) ||
      (s.identity !== undefined &&
        s.issuer !== undefined &&
        s.keyId === undefined &&
        s.publicKey === undefined &&
        s.publicKeyFile === undefined),
    { message: 'a signer is either keyId + publicKey (or publicKeyFile), or identity + issuer' },
  );
export type VsaSignerConfig = z.infer<typeof VsaSignerConfigSchema>;

/** The attestor trust configuration (strict: a typo fails). */
export const VsaTrustConfigSchema = z.strictObject({
  verifiers: z.array(TrustedVerifierSchema),
  signers: z.array(VsaSignerConfigSchema),
  /** Sigstore trusted root for Fulcio-signed VSAs; the shipped public-good root when absent. */
  trustedRoot: z.string().optional(),
});
export type VsaTrustConfig = z.input<typeof VsaTrustConfigSchema>;

/** Parsed configuration and the trust material built from it, shared by every attestor that checks VSAs. */
export interface VsaTrust {
  verifiers: TrustedVerifier[];
  /** Who may sign VSAs and for which verifier ids, as the `vsa` guard takes them. */
  signers: VsaSigner[];
  material: TrustMaterial;
  /** `sha256:<hex>` over the configuration and the trust material: part of every cache key. */
  digest: string;
}

function configInvalid(message: string): GateError {
  return new GateError('CONFIG_INVALID', `attestor trust: ${message}`);
}

/**
 * Parse the configuration and load its trust material; a bad configuration is
 * CONFIG_INVALID. Keys are given inline here (`publicKeyFile` is read by the attestors file).
 */
export function createVsaTrust(config: unknown): VsaTrust {
  const parsed = VsaTrustConfigSchema.safeParse(config);
  if (!parsed.success) throw configInvalid(z.prettifyError(parsed.error));
  const { verifiers, signers: configured, trustedRoot } = parsed.data;
  const verifierIds = new Set<string>();
  for (const v of verifiers) {
    if (verifierIds.has(v.id)) throw configInvalid(`verifier ${v.id} twice`);
    verifierIds.add(v.id);
  }
  const keyIds = new Set<string>();
  const publicKeys: Array<{ keyId: string; pem: string }> = [];
  const signers: VsaSigner[] = configured.map((s) => {
    const at = s.keyId === undefined ? `signer ${s.identity}` : `key ${s.keyId}`;
    // `any` is every verifier configured here; a verifier nobody configured proves nothing,
    // so naming one is a mistake to report, not a grant to keep.
    const speaksFor = s.verifierIds === 'any' ? [...verifierIds] : s.verifierIds;
    for (const id of speaksFor)
      if (!verifierIds.has(id))
        throw configInvalid(`${at} speaks for ${id}, which is no configured verifier`);
    if (s.keyId === undefined)
      return { who: { subject: s.identity!, issuer: s.issuer! }, verifierIds: speaksFor };
    if (keyIds.has(s.keyId)) throw configInvalid(`key id ${s.keyId} twice`);
    keyIds.add(s.keyId);
    if (s.publicKey === undefined) throw configInvalid(`${at}: publicKeyFile is read by the attestors file`);
    publicKeys.push({ keyId: s.keyId, pem: s.publicKey });
    return { who: { configuredKeyId: s.keyId }, verifierIds: speaksFor };
  });
  const material = loadTrustMaterial({
    ...(trustedRoot === undefined ? {} : { trustedRoot }),
    publicKeys,
  });
  const digest = sha256(JSON.stringify({ verifiers, signers, material: material.digest }));
  return { verifiers, signers, material, digest };
}

function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The artifact a statement about this resource must bind to (subject digest = the resource's digest). */
function expectedArtifact(resource: Resource): ArtifactRef | undefined {
  const digest = resource.kind === 'git' ? { gitCommit: resource.commit } : resource.digest;
  if (digest === undefined || Object.keys(digest).length === 0) return undefined;
  const { sha256: hex, ...named } = Object.fromEntries(
    Object.entries(digest).map(([alg, value]) => [alg, value.toLowerCase()]),
  );
  return {
    digests: { sha256: hex ?? '' },
    ...(Object.keys(named).length > 0 ? { namedDigests: named } : {}),
  };
}

/**
 * The `resourceUri` values a VSA about this resource may carry; undefined when the
 * provenance gave no URI to compare. A dependency named with its digest
 * (`oci://host/repo@sha256:…`) also matches the URI without it: the subject digest pins it.
 */
function expectedResourceUris(resource: Resource): string[] | undefined {
  if (resource.kind === 'git') return [resource.repo];
  const uri = resource.kind === 'purl' ? resource.purl : resource.uri;
  if (uri === undefined) return undefined;
  const bare = uri.replace(/@sha256:[0-9a-f]{64}$/, '');
  return bare === uri ? [uri] : [uri, bare];
}

/** `SLSA_BUILD_LEVEL_n` / `SLSA_SOURCE_LEVEL_n`, highest per track; other SLSA_* level strings are reported. */
export function parseVerifiedLevels(verifiedLevels: readonly string[]): {
  levels: TrackLevels;
  malformed: string[];
} {
  const levels: TrackLevels = {};
  const malformed: string[] = [];
  for (const value of verifiedLevels) {
    const parsed = parseSlsaLevel(value);
    if (parsed === undefined) continue;
    const track =
      parsed === 'malformed'
        ? undefined
        : ({ BUILD: 'build', SOURCE: 'source' } as const)[parsed.track as 'BUILD' | 'SOURCE'];
    if (parsed === 'malformed' || track === undefined) {
      malformed.push(value);
      continue;
    }
    levels[track] = Math.max(levels[track] ?? 0, parsed.level);
  }
  return { levels, malformed };
}

/** The VSAs among these bytes that prove a level for the resource, and why the others do not. */
export interface VsaEvaluation {
  evidence: AttestorEvidence[];
  reasons: Reason[];
}

/**
 * Load, verify and judge the attestations in `bytes` (a bundle, a DSSE envelope, or JSON
 * lines of them) as VSAs about `resource`. Pure and synchronous; never throws for a bad
 * attestation, which is only ignored with its reason.
 */
export function evaluateVsas(
  bytes: Uint8Array,
  origin: string,
  resource: Resource,
  trust: VsaTrust,
): VsaEvaluation {
  if (expectedArtifact(resource) === undefined) {
    return {
      evidence: [],
      reasons: [reasonOf('SUBJECT_MISMATCH', origin, 'the resource has no digest to bind a VSA to')],
    };
  }
  let inputs: AttestationInput[];
  try {
    inputs = loadAttestations(bytes, origin);
  } catch (err) {
    const code: ErrorCode = isGateError(err) ? err.code : 'BUNDLE_MALFORMED';
    return {
      evidence: [],
      reasons: [reasonOf(code, origin, err instanceof Error ? err.message : String(err))],
    };
  }
  return evaluateVsaInputs(inputs, resource, trust);
}

/** As `evaluateVsas`, for attestations already loaded (e.g. cosign layers converted by `cosignLayerToInput`). */
export function evaluateVsaInputs(
  inputs: AttestationInput[],
  resource: Resource,
  trust: VsaTrust,
): VsaEvaluation {
  const reasons: Reason[] = [];
  const artifact = expectedArtifact(resource);
  if (artifact === undefined) {
    return {
      evidence: [],
      reasons: [
        reasonOf('SUBJECT_MISMATCH', inputs[0]?.origin ?? '?', 'the resource has no digest to bind a VSA to'),
      ],
    };
  }
  const wantUris = expectedResourceUris(resource);
  const { accepted, rejected } = verifyAndJudgeVsas(
    { artifact, attestations: inputs, trust: trust.material },
    {
      signers: trust.signers,
      ...(wantUris === undefined ? {} : { resourceUris: wantUris }),
      ...(resource.kind === 'git' ? { sourceRevision: { commit: resource.commit, ref: resource.ref } } : {}),
    },
  );
  for (const r of rejected) reasons.push(reasonOf(r.code, r.origin, r.message));
  const evidence: AttestorEvidence[] = [];
  for (const vsa of accepted) {
    const proved = provenLevels(vsa, trust);
    reasons.push(...proved.reasons);
    evidence.push(proved.evidence);
  }
  return { evidence, reasons };
}

/** The levels a VSA the `vsa` guard accepted proves: each claimed level capped at what its verifier is trusted for. */
function provenLevels(
  { attestation: att, vsa }: AcceptedVsa,
  trust: VsaTrust,
): { evidence: AttestorEvidence; reasons: Reason[] } {
  const at = att.origin;
  const verifier = trust.verifiers.find((v) => v.id === vsa.verifier.id);
  const reasons: Reason[] = [];
  const { levels: claimed, malformed } = parseVerifiedLevels(vsa.verifiedLevels);
  for (const m of malformed)
    reasons.push(
      reasonOf('INPUT_INVALID', at, `verifiedLevels entry ${JSON.stringify(m)} is not a level 0–4; ignored`),
    );
  const proven: TrackLevels = {};
  for (const [track, key] of [
    ['build', 'BUILD'],
    ['source', 'SOURCE'],
  ] as const) {
    const level = claimed[track];
    if (level === undefined) continue;
    const max = verifier?.tracks[key];
    if (max === undefined) {
      reasons.push(
        reasonOf(
          'UNTRUSTED_SIGNER',
          at,
          `verifier ${vsa.verifier.id} is not trusted for the ${key} track; SLSA_${key}_LEVEL_${level} ignored`,
        ),
      );
      continue;
    }
    if (level > max)
      reasons.push(
        reasonOf(
          'UNTRUSTED_SIGNER',
          at,
          `SLSA_${key}_LEVEL_${level} capped at L${max}, the most ${vsa.verifier.id} is trusted for`,
        ),
      );
    proven[track] = Math.min(level, max);
  }
  const raw = Buffer.from(att.raw, 'base64');
  return {
    reasons,
    evidence: {
      digest: sha256(raw),
      origin: at,
      raw: att.raw,
      predicateType: att.predicateType,
      verifierId: vsa.verifier.id,
      trustedBy: att.signer.trustedBy,
      claimed,
      proven,
    },
  };
}

/** The highest proven level per track over several pieces of evidence. */
export function highestLevels(evidence: readonly AttestorEvidence[]): TrackLevels {
  const levels: TrackLevels = {};
  for (const e of evidence) {
    for (const track of ['build', 'source'] as const) {
      const level = e.proven[track];
      if (level !== undefined) levels[track] = Math.max(levels[track] ?? 0, level);
    }
  }
  return levels;
}

/**
 * Check cached or archived evidence again from its raw bytes: the levels it proves now
 * under `trust` (a cached level stays re-checkable; a changed trust configuration shows).
 */
export function recheckEvidence(
  evidence: readonly AttestorEvidence[],
  resource: Resource,
  trust: VsaTrust,
): VsaEvaluation {
  const out: VsaEvaluation = { evidence: [], reasons: [] };
  for (const e of evidence) {
    const raw = Buffer.from(e.raw, 'base64');
    if (sha256(raw) !== e.digest) {
      out.reasons.push(reasonOf('DIGEST_MISMATCH', e.origin, `raw bytes are not ${e.digest}`));
      continue;
    }
    const again = evaluateVsas(raw, e.origin, resource, trust);
    out.evidence.push(...again.evidence);
    out.reasons.push(...again.reasons);
  }
  return out;
}

/** The answer for the VSAs judged about one resource: found when any of them proves a level. */
export function answerOf(
  judged: VsaEvaluation,
  method: 'vsa' | 'archive',
  noneProves: Reason,
): AttestorAnswer {
  const { evidence, reasons } = judged;
  if (evidence.length === 0) return { status: 'not-found', reasons: [noneProves, ...reasons] };
  return { status: 'found', method, attestations: evidence, levels: highestLevels(evidence), reasons };
}

/** An attestor's trust digest (part of every cache key): its VSA trust and where it reads from. */
export function attestorTrustDigest(trust: Pick<VsaTrust, 'digest'>, ...source: unknown[]): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify([trust.digest, ...source]))
    .digest('hex')}`;
}

/**
 * Trust in attestors (guac: *verified* is not *trusted*). A VSA proves a level only when
 *  1. its signature verifies (loadAttestations + verifyAttestations, against the key or
 *     the Fulcio identity configured for a verifier), and the statement binds to the
 *     resource's digest;
 *  2. the signer and the predicate's `verifier.id` are one configured verifier;
 *  3. `resourceUri` is the resource's, `verificationResult` is PASSED, and for a git
 *     revision the subject's `gitCommit` is the built commit with the built ref in its
 *     `source_refs` annotation;
 *  4. the level is capped at the maximum that verifier is trusted for on that track.
 * Anything else is ignored with a coded reason (fail closed: level 0 for that evidence).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { GateError, isGateError, type ErrorCode } from '../core/errors.ts';
import type { ArtifactRef, VerifiedAttestation } from '../core/model.ts';
import { parseSlsaLevel, readVsa, vsaMismatches } from '../core/vsa/verification-summary.ts';
import type { TrustMaterial } from '../core/trust/trust-material.ts';
import { loadTrustMaterial } from '../loaders/trust-material-files.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { verifyAttestations } from '../core/verify/verify-attestations.ts';
import {
  reasonOf,
  type AttestorAnswer,
  type AttestorEvidence,
  type Reason,
  type Resource,
  type TrackLevels,
} from './attestor.ts';

const LevelSchema = z.number().int().min(0).max(4);

/** One trusted verifier: who signs (a key, or a Fulcio identity and issuer) and up to which level per track. */
export const TrustedVerifierSchema = z
  .strictObject({
    /** The VSA's `verifier.id`. */
    id: z.string().min(1),
    /** Key id (the bundle's key hint or the DSSE keyid) and its PEM public key. */
    keyId: z.string().min(1).optional(),
    publicKey: z.string().includes('PUBLIC KEY').optional(),
    /** Certificate SAN and OIDC issuer of a Fulcio-signed VSA, compared exactly. */
    identity: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    tracks: z.strictObject({ BUILD: LevelSchema.optional(), SOURCE: LevelSchema.optional() }),
  })
  .refine(
    (v) =>
      (v.keyId !== undefined &&
        v.publicKey !== undefined &&
        v.identity === undefined &&
        v.issuer === undefined) ||
      (v.identity !== undefined &&
        v.issuer !== undefined &&
        v.keyId === undefined &&
        v.publicKey === undefined),
    { message: 'a verifier is either keyId + publicKey, or identity + issuer' },
  );
export type TrustedVerifier = z.infer<typeof TrustedVerifierSchema>;

/** The attestor trust configuration (strict: a typo fails). */
export const VsaTrustConfigSchema = z.strictObject({
  verifiers: z.array(TrustedVerifierSchema),
  /** Sigstore trusted root for Fulcio-signed VSAs; the shipped public-good root when absent. */
  trustedRoot: z.string().optional(),
});
export type VsaTrustConfig = z.input<typeof VsaTrustConfigSchema>;

/** Parsed configuration and the trust material built from it, shared by every attestor that checks VSAs. */
export interface VsaTrust {
  verifiers: TrustedVerifier[];
  material: TrustMaterial;
  /** `sha256:<hex>` over the configuration and the trust material: part of every cache key. */
  digest: string;
}

/** Parse the configuration and load its trust material; a bad configuration is CONFIG_INVALID. */
export function createVsaTrust(config: unknown): VsaTrust {
  const parsed = VsaTrustConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new GateError('CONFIG_INVALID', `attestor trust: ${z.prettifyError(parsed.error)}`);
  }
  const { verifiers, trustedRoot } = parsed.data;
  const ids = new Set<string>();
  for (const v of verifiers) {
    if (v.keyId === undefined) continue;
    if (ids.has(v.keyId)) throw new GateError('CONFIG_INVALID', `attestor trust: key id ${v.keyId} twice`);
    ids.add(v.keyId);
  }
  const material = loadTrustMaterial({
    ...(trustedRoot === undefined ? {} : { trustedRoot }),
    publicKeys: verifiers.flatMap((v) =>
      v.keyId !== undefined && v.publicKey !== undefined ? [{ keyId: v.keyId, pem: v.publicKey }] : [],
    ),
  });
  const digest = sha256(JSON.stringify({ verifiers, material: material.digest }));
  return { verifiers, material, digest };
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

/** The `source_refs` of the subject naming `commit` (source-tool writes `source_refs`; `sourceRefs` is read too). */
function sourceRefsOf(statement: Record<string, unknown>, commit: string): string[] {
  const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
  const refs: string[] = [];
  for (const s of subjects) {
    const subject = s as { digest?: Record<string, unknown>; annotations?: Record<string, unknown> };
    if (subject.digest?.gitCommit !== commit) continue;
    for (const key of ['source_refs', 'sourceRefs']) {
      const value = subject.annotations?.[key];
      if (Array.isArray(value)) refs.push(...value.filter((r): r is string => typeof r === 'string'));
    }
  }
  return refs;
}

/** The configured verifiers whose key or identity produced this signature. */
function verifiersOfSigner(att: VerifiedAttestation, trust: VsaTrust): TrustedVerifier[] {
  const { signer } = att;
  return trust.verifiers.filter((v) =>
    signer.kind === 'key'
      ? v.keyId !== undefined && signer.trustedBy === `public-key:${v.keyId}`
      : v.identity !== undefined && signer.identity === v.identity && signer.issuer === v.issuer,
  );
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
  const { verified, rejected } = verifyAttestations(inputs, {
    artifact,
    trust: trust.material,
  });
  for (const r of rejected) reasons.push(reasonOf(r.code, r.origin, r.message));
  const evidence: AttestorEvidence[] = [];
  for (const att of verified) {
    const judged = judgeVsa(att, resource, trust);
    reasons.push(...judged.reasons);
    if (judged.evidence !== undefined) evidence.push(judged.evidence);
  }
  return { evidence, reasons };
}

/** Checks 2–4 on one attestation whose signature verified. */
function judgeVsa(
  att: VerifiedAttestation,
  resource: Resource,
  trust: VsaTrust,
): { evidence?: AttestorEvidence; reasons: Reason[] } {
  const at = att.origin;
  const bySigner = verifiersOfSigner(att, trust);
  if (bySigner.length === 0) {
    const who =
      att.signer.kind === 'key'
        ? `key ${att.signer.keyId ?? '?'}`
        : `${att.signer.identity ?? '?'} (${att.signer.issuer ?? '?'})`;
    return {
      reasons: [reasonOf('UNTRUSTED_SIGNER', at, `signed by ${who}, which is no configured verifier`)],
    };
  }
  const read = readVsa(att);
  if ('code' in read) return { reasons: [reasonOf(read.code, at, read.message)] };
  const vsa = read.vsa;
  const statement = att.statement as Record<string, unknown>;
  const verifiers = bySigner.filter((v) => v.id === vsa.verifier.id);
  const wantUris = expectedResourceUris(resource);
  const mismatch = vsaMismatches(vsa, {
    verifierIds: bySigner.map((v) => v.id),
    ...(wantUris === undefined ? {} : { resourceUris: wantUris }),
  })[0];
  if (mismatch !== undefined) return { reasons: [reasonOf(mismatch.code, at, mismatch.message)] };
  if (resource.kind === 'git' && !sourceRefsOf(statement, resource.commit).includes(resource.ref)) {
    return {
      reasons: [
        reasonOf(
          'REF_MISMATCH',
          at,
          `source_refs of commit ${resource.commit} do not contain ${resource.ref}`,
        ),
      ],
    };
  }

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
    const max = Math.max(-1, ...verifiers.map((v) => v.tracks[key] ?? -1));
    if (max < 0) {
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

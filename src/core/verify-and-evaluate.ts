/**
 * The one front door of the core (as sigstore-js's `Verifier`): verify every loaded
 * attestation against the trust material and evaluate the rule over what verified. The CLI
 * and audit replay go through `verifyAndEvaluate`; a publish goes through its two halves,
 * `verifyEvidence` when it collects the evidence and `evaluateVerified` when it decides, so
 * that each signature is checked once and what verified is what is evaluated
 * (docs/security-model.md#one-verification-per-publish). The rule's stance on Sigstore
 * bundle v0.1 is the identity guard's alone: a v0.1 bundle the rule refuses fails there with
 * its own code instead of silently vanishing.
 */
import type { ArtifactRef, EvaluatedAttestation, VerifiedAttestation } from './model.ts';
import type { SlsaVsaV1 } from './formats/slsa/vsa-v1.ts';
import { vsaJudgement, type VsaRequirement } from './policy/guards/vsa.ts';
import { evaluate, type EvaluateInput, type Evaluation } from './policy/evaluate.ts';
import type { LevelEvidence, PolicyRule } from './policy/policy-rule.ts';
import type { TrustMap } from './policy/trust-map.ts';
import type { TrustMaterial } from './trust/trust-material.ts';
import type { AttestationInput } from './verify/attestation-input.ts';
import { verifyAttestations, type RejectedAttestation } from './verify/verify-attestations.ts';

export interface VerifyEvidenceInput {
  artifact: ArtifactRef;
  /** Attestations as loaded (loadAttestations), not yet verified. */
  attestations: AttestationInput[];
  trust: TrustMaterial;
  /** The artifact's bytes, for message-signature bundles. */
  artifactBytes?: Uint8Array;
  /** Accept v0.1 bundles with a signed entry timestamp but no inclusion proof (see `withinV01Stance`). */
  allowV01WithoutInclusionProof: boolean;
  /** The verifier's clock: signed times in the future are refused (default: now). */
  now?: Date;
}

/** What the signature layer established about a set of attestations. */
export interface VerifiedEvidence<A extends EvaluatedAttestation = VerifiedAttestation> {
  /** What verified. */
  verified: A[];
  /** What did not verify, with the coded reason. */
  rejected: RejectedAttestation[];
}

export interface EvaluateVerifiedInput {
  artifact: ArtifactRef;
  trustMap: TrustMap;
  now: Date;
  /** Source and dependency levels, or how to find them from what verified (audit replay). */
  levels?: LevelEvidence | ((verified: EvaluatedAttestation[]) => LevelEvidence);
  rollback?: EvaluateInput['rollback'];
  /** On the publish path: where it is to be published (the rule must name it). */
  destination?: EvaluateInput['destination'];
  /** On the publish path: the verified requester and what its grants let it publish. */
  requester?: EvaluateInput['requester'];
  /**
   * Accept v0.1 bundles with a signed entry timestamp but no inclusion proof. Default: the
   * rule's `bundleV01: accept`; `verify` passes its own flag.
   */
  allowV01WithoutInclusionProof?: boolean;
}

export type VerifyAndEvaluateInput = Omit<VerifyEvidenceInput, 'allowV01WithoutInclusionProof'> &
  EvaluateVerifiedInput;

export interface VerifiedEvaluation<
  A extends EvaluatedAttestation = VerifiedAttestation,
> extends VerifiedEvidence<A> {
  evaluation: Evaluation;
}

/** The verify half: every attestation's signature checked once; pure and synchronous. */
export function verifyEvidence(input: VerifyEvidenceInput): VerifiedEvidence {
  return verifyAttestations(input.attestations, {
    artifact: input.artifact,
    trust: input.trust,
    allowV01WithoutInclusionProof: input.allowV01WithoutInclusionProof,
    ...(input.artifactBytes === undefined ? {} : { artifactBytes: input.artifactBytes }),
    ...(input.now === undefined ? {} : { now: input.now }),
  });
}

/**
 * Evidence as a verification without the v0.1 allowance would have left it. An attestation
 * rests on that allowance exactly when it verified with log entries of which one has no
 * inclusion proof: a v0.2+ bundle without one never verifies (sigstore-bundle.ts), so only
 * a v0.1 bundle's signed entry timestamp let it through. Without the allowance it is
 * rejected with TLOG_MISSING, as the verifier itself would have rejected it.
 */
export function withinV01Stance<A extends EvaluatedAttestation>(
  evidence: VerifiedEvidence<A>,
  allowV01WithoutInclusionProof: boolean,
): VerifiedEvidence<A> {
  if (allowV01WithoutInclusionProof) return evidence;
  const verified: A[] = [];
  const rejected = [...evidence.rejected];
  for (const att of evidence.verified) {
    if (att.transparency.kind === 'none' || att.transparency.inclusionProof) verified.push(att);
    else
      rejected.push({
        origin: att.origin,
        code: 'TLOG_MISSING',
        message: `${att.origin}: v0.1 bundle tlog entry has no inclusion proof (allowed only with --allow-v01-without-inclusion-proof)`,
      });
  }
  return { verified, rejected };
}

/**
 * The evaluate half: evaluates `rule` over evidence that `verifyEvidence` produced, under the
 * trust material in force (the caller's to ensure), and checks no signature; pure and synchronous.
 */
export function evaluateVerified<A extends EvaluatedAttestation>(
  evidence: VerifiedEvidence<A>,
  input: EvaluateVerifiedInput,
  rule: PolicyRule,
): VerifiedEvaluation<A> {
  const { verified, rejected } = withinV01Stance(
    evidence,
    input.allowV01WithoutInclusionProof ?? rule.bundleV01 === 'accept',
  );
  const evaluateInput: EvaluateInput = {
    artifact: input.artifact,
    attestations: verified,
    rejected,
    rule,
    trustMap: input.trustMap,
    now: input.now,
  };
  const levels = typeof input.levels === 'function' ? input.levels(verified) : input.levels;
  if (levels !== undefined) evaluateInput.levels = levels;
  if (input.rollback !== undefined) evaluateInput.rollback = input.rollback;
  if (input.destination !== undefined) evaluateInput.destination = input.destination;
  if (input.requester !== undefined) evaluateInput.requester = input.requester;
  return { verified, rejected, evaluation: evaluate(evaluateInput) };
}

/** Verify, then evaluate `rule`; pure and synchronous. */
export function verifyAndEvaluate(input: VerifyAndEvaluateInput, rule: PolicyRule): VerifiedEvaluation {
  const allowV01WithoutInclusionProof = input.allowV01WithoutInclusionProof ?? rule.bundleV01 === 'accept';
  return evaluateVerified(verifyEvidence({ ...input, allowV01WithoutInclusionProof }), input, rule);
}

/** A VSA that verified and met the requirement. */
export interface AcceptedVsa {
  attestation: VerifiedAttestation;
  vsa: SlsaVsaV1;
}

/**
 * The VSA read of the attestors and of consumers at time of use: the verify half, then each
 * verified attestation judged by the `vsa` guard alone. A VSA needs an inclusion proof where
 * it has a log entry (no v0.1 allowance). Pure and synchronous; an attestation that does not
 * count is returned with its coded reason, never thrown.
 */
export function verifyAndJudgeVsas(
  input: Omit<VerifyEvidenceInput, 'allowV01WithoutInclusionProof' | 'artifactBytes'>,
  want: VsaRequirement,
): { accepted: AcceptedVsa[]; rejected: RejectedAttestation[] } {
  const { verified, rejected } = verifyEvidence({ ...input, allowV01WithoutInclusionProof: false });
  const accepted: AcceptedVsa[] = [];
  for (const attestation of verified) {
    const judged = vsaJudgement(attestation, want);
    if ('vsa' in judged) accepted.push({ attestation, vsa: judged.vsa });
    else rejected.push({ origin: attestation.origin, code: judged.code, message: judged.message });
  }
  return { accepted, rejected };
}

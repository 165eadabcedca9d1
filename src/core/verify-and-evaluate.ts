/**
 * The one front door of the core (as sigstore-js's `Verifier`): verify every loaded
 * attestation against the trust material and evaluate the rule over what verified. The
 * CLI, the publish activities and audit replay go through here, so the sequence exists
 * once. The rule's stance on Sigstore bundle v0.1 is the identity guard's alone: a v0.1
 * bundle the rule refuses fails there with its own code instead of silently vanishing.
 */
import type { ArtifactRef, VerifiedAttestation } from './model.ts';
import type { SlsaVsaV1 } from './formats/slsa/vsa-v1.ts';
import { vsaJudgement, type VsaRequirement } from './policy/guards/vsa.ts';
import { evaluate, type EvaluateInput, type Evaluation } from './policy/evaluate.ts';
import type { LevelEvidence, PolicyRule } from './policy/policy-rule.ts';
import type { TrustMap } from './policy/trust-map.ts';
import type { TrustMaterial } from './trust/trust-material.ts';
import type { AttestationInput } from './verify/attestation-input.ts';
import { verifyAttestations, type RejectedAttestation } from './verify/verify-attestations.ts';

export interface VerifyAndEvaluateInput {
  artifact: ArtifactRef;
  /** Attestations as loaded (loadAttestations), not yet verified. */
  attestations: AttestationInput[];
  trust: TrustMaterial;
  trustMap: TrustMap;
  now: Date;
  /** Source and dependency levels, or how to find them from what verified (audit replay). */
  levels?: LevelEvidence | ((verified: VerifiedAttestation[]) => LevelEvidence);
  rollback?: EvaluateInput['rollback'];
  /** On the publish path: where it is to be published (the rule must name it). */
  destination?: EvaluateInput['destination'];
  /** On the publish path: the verified requester and what its grants let it publish. */
  requester?: EvaluateInput['requester'];
  /** The artifact's bytes, for message-signature bundles. */
  artifactBytes?: Uint8Array;
  /**
   * Accept v0.1 bundles with a signed entry timestamp but no inclusion proof. Default: the
   * rule's `bundleV01: accept`; `verify` passes its own flag.
   */
  allowV01WithoutInclusionProof?: boolean;
}

export interface VerifiedEvaluation {
  /** What verified. */
  verified: VerifiedAttestation[];
  /** What did not verify, with the coded reason. */
  rejected: RejectedAttestation[];
  evaluation: Evaluation;
}

/** Verify, then evaluate `rule`; pure and synchronous. */
export function verifyAndEvaluate(input: VerifyAndEvaluateInput, rule: PolicyRule): VerifiedEvaluation {
  const { verified, rejected } = verifyAttestations(input.attestations, {
    artifact: input.artifact,
    trust: input.trust,
    allowV01WithoutInclusionProof: input.allowV01WithoutInclusionProof ?? rule.bundleV01 === 'accept',
    ...(input.artifactBytes === undefined ? {} : { artifactBytes: input.artifactBytes }),
  });
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

/** A VSA that verified and met the requirement. */
export interface AcceptedVsa {
  attestation: VerifiedAttestation;
  vsa: SlsaVsaV1;
}

/**
 * The VSA read of the attestors and of consumers at time of use: verify, then judge each
 * verified attestation with the `vsa` guard alone. Pure and synchronous; an attestation
 * that does not count is returned with its coded reason, never thrown.
 */
export function verifyAndJudgeVsas(
  input: { artifact: ArtifactRef; attestations: AttestationInput[]; trust: TrustMaterial; now?: Date },
  want: VsaRequirement,
): { accepted: AcceptedVsa[]; rejected: RejectedAttestation[] } {
  const { verified, rejected } = verifyAttestations(input.attestations, {
    artifact: input.artifact,
    trust: input.trust,
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  const accepted: AcceptedVsa[] = [];
  for (const attestation of verified) {
    const judged = vsaJudgement(attestation, want);
    if ('vsa' in judged) accepted.push({ attestation, vsa: judged.vsa });
    else rejected.push({ origin: attestation.origin, code: judged.code, message: judged.message });
  }
  return { accepted, rejected };
}

import { createHash } from 'node:crypto';
import { GateError } from '../core/errors.ts';
import type { Evaluation } from '../core/policy/evaluate.ts';
import { parsePolicy, selectRule } from '../core/policy/policy-file.ts';
import { approvalQuorumOf, type ApprovalQuorum } from '../core/policy/approval-quorum.ts';
import { tagOf } from '../core/provenance/git-uri.ts';
import { Context } from '@temporalio/activity';
import {
  mergeLevelResolutions,
  resourcesOfFacts,
  type LevelResolution,
  type ProvenanceResources,
} from '../attestors/resolve-levels.ts';
import { durationSeconds, type LevelEvidence, type PolicyRule } from '../core/policy/policy-rule.ts';
import type { RequesterInput } from '../core/policy/guards/requester.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import type { RejectedAttestation } from '../core/verify/verify-attestations.ts';
import type { ArtifactRef, EvaluatedAttestation } from '../core/model.ts';
import { evaluateVerified, verifyEvidence, type VerifiedEvidence } from '../core/verify-and-evaluate.ts';
import type { Candidate } from '../workflows/contract.ts';
import type { ActivityDeps } from './deps.ts';
import type { EvidenceFacts } from '../core/provenance/evidence-facts.ts';
import { artifactOf } from './candidate-artifact.ts';
import type { CollectedEvidence } from './evidence.ts';
import { loadArchivedAttestations } from './archived-attestations.ts';

const DEFAULT_APPROVAL_DEADLINE_SECONDS = 24 * 3600;

export interface PolicyEvaluation {
  evaluation: Evaluation;
  policyDigest: string;
  /** The operator's policy version evaluated (`slsa-gate policy history`). */
  policyVersion: number;
  /** Who must approve and how many (approval-quorum.ts), and how long they have. */
  approval: ApprovalQuorum & { deadlineSeconds: number };
}

/**
 * The operator's policy in force: the newest version loaded into the archive (`slsa-gate
 * policy load`, or the worker's SLSA_GATE_POLICY at start). A request never carries policy;
 * no version at all is POLICY_INCOMPLETE (docs/checklist.md#row-10).
 */
export async function policyInForce(deps: ActivityDeps) {
  const current = await deps.archive.currentPolicy();
  if (!current)
    throw new GateError(
      'POLICY_INCOMPLETE',
      'no policy: none was loaded (slsa-gate policy load FILE, or SLSA_GATE_POLICY for the worker)',
    );
  return {
    text: current.text,
    origin: `policy version ${current.version.version}`,
    version: current.version,
  };
}

/** The digest and version of the policy in force, for the record of a denial (even when it does not parse). */
export async function policyRefOf(deps: ActivityDeps): Promise<{ digest: string; version?: number }> {
  const current = await deps.archive.currentPolicyVersion();
  if (!current) return { digest: `sha256:${createHash('sha256').update('').digest('hex')}` };
  return { digest: current.digest, version: current.version };
}

/**
 * What was last published at `repository:tag` (docs/checklist.md#row-21 and docs/checklist.md#row-22): the monotonic
 * record is the archive's release record for that tag (its newest published decision),
 * read by key so that the check costs the same however large the archive grows.
 */
async function lastPublished(deps: ActivityDeps, repository: string, tag: string) {
  const target = `${repository}:${tag}`;
  const last = await deps.archive.lastRelease(repository, tag);
  if (!last) return { target };
  const version = tagOf(last.sourceRef);
  return {
    target,
    last: {
      target,
      artifactDigest: last.digest,
      ...(version ? { version } : {}),
      // Its decision time bounds its build time from above.
      builtAt: last.decidedAt,
    },
  };
}

/**
 * parsePolicy, with anything it throws that is not coded (a YAML alias bomb exhausting the
 * parser) turned into POLICY_INVALID: it would fail again on every retry.
 */
export function parsePolicyCoded(...args: Parameters<typeof parsePolicy>): ReturnType<typeof parsePolicy> {
  try {
    return parsePolicy(...args);
  } catch (err) {
    if (err instanceof GateError) throw err;
    throw new GateError(
      'POLICY_INVALID',
      `${args[1]}: the policy cannot be parsed (${String(err)})`.slice(0, 2000),
      {
        detail: { origin: args[1] },
      },
    );
  }
}

/**
 * The evidence a publish's evaluation rests on: what collectEvidence verified, when it was
 * verified under the trust material in force here. Otherwise (the worker's trust changed
 * between the two steps, the result was too large to carry, or the run was recorded before
 * it was carried) the archived attestations are verified again, under the trust in force,
 * through the same front door (docs/security-model.md#one-verification-per-publish).
 */
async function evidenceToEvaluate(
  deps: ActivityDeps,
  input: {
    artifact: ArtifactRef;
    attestationDigests: string[];
    evidence?: Pick<CollectedEvidence, 'verified' | 'rejected' | 'trustDigest' | 'verifySeconds'>;
  },
): Promise<{ evidence: VerifiedEvidence<EvaluatedAttestation>; verifySeconds: number }> {
  const collected = input.evidence;
  if (collected?.verified !== undefined && collected.trustDigest === deps.trust.digest)
    return {
      evidence: { verified: collected.verified, rejected: collected.rejected },
      verifySeconds: collected.verifySeconds,
    };
  const records = await loadArchivedAttestations(deps.archive, input.attestationDigests);
  const started = performance.now();
  const again = verifyEvidence({
    artifact: input.artifact,
    attestations: records.flatMap((r) => loadAttestations(Buffer.from(r.raw, 'base64'), r.origin)),
    trust: deps.trust,
    allowV01WithoutInclusionProof: true,
  });
  // What collection set aside without archiving it (a referrer that is no attestation) still counts as rejected.
  const archived = new Set(records.map((r) => r.origin));
  const notArchived: RejectedAttestation[] = (collected?.rejected ?? []).filter(
    (r) => !archived.has(r.origin),
  );
  return {
    evidence: { verified: again.verified, rejected: [...notArchived, ...again.rejected] },
    verifySeconds: (performance.now() - started) / 1000,
  };
}

export function createPolicyActivities(deps: ActivityDeps) {
  return {
    /** What the provenance asks the attestors about: its source revision and each dependency with a digest. */
    async planLevelResources(input: { facts: EvidenceFacts }): Promise<{
      resources: ProvenanceResources;
      deadlineSeconds: number;
    }> {
      return {
        resources: resourcesOfFacts(input.facts),
        deadlineSeconds: deps.settings.attestationDeadlineSeconds,
      };
    },

    /**
     * Resolves the levels of some resources through the attestors, heartbeating per lookup.
     * An attestor outage fails the attempt as retryable (ATTESTOR_UNAVAILABLE) unless
     * `failOnUnavailable` is false, after the deadline: then what is missing is level 0.
     * The attestations the levels rest on are archived, content-addressed.
     */
    async resolveLevelChunk(input: {
      resources: ProvenanceResources;
      failOnUnavailable: boolean;
    }): Promise<LevelResolution> {
      const ctx = Context.current();
      const resolution = await deps.resolveLevels(input.resources, {
        failOnUnavailable: input.failOnUnavailable,
        signal: ctx.cancellationSignal,
        heartbeat: (detail) => ctx.heartbeat(detail),
      });
      const evidence = resolution.attestations ?? [];
      if (evidence.length > 0) {
        const fetchedAt = new Date().toISOString();
        await deps.archive.storeAttestations(
          evidence.map((e) => ({
            raw: e.raw,
            ...(e.predicateType ? { predicateType: e.predicateType } : {}),
            subjects: [],
            origin: e.origin,
            fetchedAt,
          })),
        );
      }
      // The raw bytes are archived; the workflow history keeps only their digests.
      const { attestations: _raw, ...rest } = resolution;
      return rest;
    },

    /** Joins the resolutions of several chunks. */
    async mergeLevelChunks(input: { parts: LevelResolution[] }): Promise<LevelResolution> {
      return mergeLevelResolutions(input.parts);
    },

    /**
     * Evaluates the policy rule for the candidate over what collectEvidence verified; checks
     * no signature unless that verification cannot stand (see evidenceToEvaluate).
     */
    async evaluatePolicy(input: {
      candidate: Candidate;
      attestationDigests: string[];
      /** What collectEvidence verified and rejected (runs recorded before it: absent). */
      evidence?: Pick<CollectedEvidence, 'verified' | 'rejected' | 'trustDigest' | 'verifySeconds'>;
      levels: LevelEvidence;
      now: string;
      /** Where it will be published: `registry/repository` and the tag, for the rollback check. */
      release?: { repository: string; tag?: string };
      /** The verified requester (admitRequest) and what its grants let it publish. */
      requester?: RequesterInput;
    }): Promise<PolicyEvaluation> {
      const { text, origin, version } = await policyInForce(deps);
      const { policy, digest } = parsePolicyCoded(text, origin, deps.trustMap);
      const rule: PolicyRule = selectRule(
        policy,
        `${input.candidate.registry}/${input.candidate.repository}`,
      );

      const artifact = await artifactOf(deps, input.candidate);
      const { evidence, verifySeconds } = await evidenceToEvaluate(deps, { ...input, artifact });
      const rollback = input.release?.tag
        ? await lastPublished(deps, input.release.repository, input.release.tag)
        : undefined;
      // Timed alone: the reads above are I/O, this is the pure core (with its verification).
      const started = performance.now();
      const seconds = () => verifySeconds + (performance.now() - started) / 1000;
      let evaluation: Evaluation;
      try {
        ({ evaluation } = evaluateVerified(
          evidence,
          {
            artifact,
            trustMap: deps.trustMap,
            levels: input.levels,
            now: new Date(input.now),
            ...(input.release
              ? {
                  destination: {
                    repository: input.release.repository,
                    ...(input.release.tag ? { tag: input.release.tag } : {}),
                  },
                }
              : {}),
            ...(rollback ? { rollback } : {}),
            ...(input.requester ? { requester: input.requester } : {}),
          },
          rule,
        ));
      } catch (err) {
        deps.metrics?.verified('error', seconds());
        throw err;
      }
      deps.metrics?.verified(evaluation.outcome, seconds());
      return {
        evaluation,
        policyDigest: digest,
        policyVersion: version.version,
        approval: {
          ...approvalQuorumOf(rule),
          deadlineSeconds: rule.approvalDeadline
            ? durationSeconds(rule.approvalDeadline)
            : DEFAULT_APPROVAL_DEADLINE_SECONDS,
        },
      };
    },
  };
}

import type { DecisionInput, DecisionStatus } from '../archive/archive.ts';
import { isFinalStatus } from '../archive/lifecycle.ts';
import { GateError, type ErrorCode } from '../core/errors.ts';
import type { Identity, SealedIdentity } from '../core/identity.ts';
import { openSealedIdentity, type SealExpectation } from '../core/identity-seal.ts';
import {
  unverifiedApproverName,
  verdictCounts,
  type ApprovalQuorum,
  type QuorumState,
} from '../core/policy/approval-quorum.ts';
import type { Evaluation } from '../core/policy/evaluate.ts';
import type { CheckResult } from '../core/model.ts';
import { artifactKindOf, type Candidate } from '../workflows/contract.ts';
import { stagedFileOf } from './candidate-artifact.ts';
import type { ActivityDeps } from './deps.ts';
import { artifactUriOf } from './candidate-artifact.ts';
import type { EvidenceFacts } from '../core/provenance/evidence-facts.ts';
import { policyRefOf } from './policy.ts';

export interface DecisionContext {
  decisionId: string;
  workflowId: string;
  runId: string;
  candidate: Candidate;
  releaseRepository: string;
  requester: string;
}

const artifactRecord = (c: Candidate) => ({
  // Only non-image kinds are stored, so an image's record is what it was before kinds existed.
  ...(c.artifactKind && c.artifactKind !== 'container-image' ? { kind: c.artifactKind } : {}),
  repository: `${c.registry}/${c.repository}`,
  ...(c.tag ? { tag: c.tag } : {}),
  digest: c.digest,
  uri: artifactUriOf(c),
  ...(c.package ? { package: c.package } : {}),
});

/**
 * The identity a seal vouches for. Without SLSA_GATE_IDENTITY_KEY no seal can be ours.
 * `code` says what a bad seal denies: the request (IDENTITY_UNVERIFIED) or one approval.
 */
export function openSeal(
  deps: ActivityDeps,
  sealed: SealedIdentity,
  expected: SealExpectation,
  code: 'IDENTITY_UNVERIFIED' | 'APPROVER_NOT_ALLOWED',
): Identity {
  if (!deps.identityKey)
    throw new GateError(code, 'the worker has no SLSA_GATE_IDENTITY_KEY: no identity can be verified');
  try {
    return openSealedIdentity(deps.identityKey, sealed, expected);
  } catch (err) {
    if (err instanceof GateError) throw new GateError(code, err.message, { detail: err.detail ?? {} });
    throw err;
  }
}

/** Archives a decision and counts it once, in the process that stored it (not in a retry). */
async function recordCounted(deps: ActivityDeps, input: DecisionInput): Promise<{ decisionId: string }> {
  const { decisionId, created } = await deps.archive.recordDecision(input);
  if (created) deps.metrics?.decisionArchived(input.outcome, input.checks);
  return { decisionId };
}

/** How a run ended when no decision of the pipeline closed it: cancelled, terminated, timed out. */
export interface RunEnd {
  status: Extract<DecisionStatus, 'cancelled' | 'terminated' | 'timed-out'>;
  code: Extract<ErrorCode, 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT'>;
  reason: string;
  /** Who ended it, as far as the gate can tell (`temporal:<client identity>` for a termination). */
  by: string;
  /** When it ended (ISO-8601). */
  at: string;
  /** What Temporal recorded about the end, kept on the archived event. */
  data: Record<string, unknown>;
}

/**
 * Archives how a run ended: its open decision moves to the end's status; a run that ended
 * before its decision was recorded gets a FAILED decision with the end's code, so every run
 * that ends leaves an archived decision. A decision already at an end keeps it (`archived`
 * false). Idempotent: the record and the event are keyed by the run.
 */
export async function archiveRunEnd(
  deps: ActivityDeps,
  context: DecisionContext,
  end: RunEnd,
): Promise<{ status: DecisionStatus; archived: boolean }> {
  const { archive } = deps;
  const existing = await archive.getDecision(context.decisionId);
  if (existing && isFinalStatus(existing.status)) return { status: existing.status, archived: false };
  const from: DecisionStatus = existing ? existing.status : 'decided';
  if (!existing)
    await recordCounted(deps, {
      decisionId: context.decisionId,
      workflowId: context.workflowId,
      runId: context.runId,
      artifact: artifactRecord(context.candidate),
      requester: context.requester,
      checks: [{ id: 'pipeline', result: 'FAIL', code: end.code, reason: end.reason, evidence: [] }],
      outcome: 'FAILED',
      policy: await policyRefOf(deps),
      attestationDigests: [],
      decidedAt: end.at,
    });
  await archive.transition(context.decisionId, from, end.status, end.by, end.data, end.at);
  return { status: end.status, archived: true };
}

export function createDecisionActivities(deps: ActivityDeps) {
  const { archive } = deps;
  return {
    /** Archives the policy decision; idempotent, and refuses a different decision under the same id. */
    async recordDecision(
      input: DecisionContext & {
        evaluation: Evaluation;
        policyDigest: string;
        policyVersion?: number;
        attestationDigests: string[];
        facts: EvidenceFacts;
        decidedAt: string;
        /** Milliseconds per step before the decision, by the workflow's clock. */
        timings?: Record<string, number>;
        /** The requester as admitted (admitRequest opened its seal before any step). */
        verifiedRequester?: Identity;
        /**
         * Runs started before admission: the requester as the API sealed it, checked against
         * the run's start time.
         */
        requesterIdentity?: SealedIdentity;
        requestedAt?: string;
      },
    ): Promise<{ decisionId: string; requester?: Identity }> {
      const p = input.evaluation.provenance;
      // A request whose seal does not verify names no one: denied before anything is recorded as decided.
      const requester =
        input.verifiedRequester ??
        (input.requesterIdentity
          ? openSeal(
              deps,
              input.requesterIdentity,
              {
                purpose: 'request',
                workflowId: input.workflowId,
                now: new Date(input.requestedAt ?? input.decidedAt),
              },
              'IDENTITY_UNVERIFIED',
            )
          : undefined);
      // The evaluation read the file artifact's manifest already; its file is what was verified.
      const file =
        artifactKindOf(input.candidate) === 'oci-blob'
          ? await stagedFileOf(deps, input.candidate)
          : undefined;
      const recorded = await recordCounted(deps, {
        decisionId: input.decisionId,
        workflowId: input.workflowId,
        runId: input.runId,
        artifact: {
          ...artifactRecord(input.candidate),
          ...(file ? { file: { name: file.title, digest: file.digest } } : {}),
        },
        requester: requester?.id ?? input.requester,
        checks: input.evaluation.checks,
        outcome: input.evaluation.outcome,
        policy: {
          digest: input.policyDigest,
          ...(input.policyVersion ? { version: input.policyVersion } : {}),
        },
        ...(p
          ? { builder: { id: p.builder.name, ...(p.builder.version ? { version: p.builder.version } : {}) } }
          : {}),
        ...(p?.source
          ? {
              source: {
                repo: p.source.uri,
                ...(p.source.commit ? { commit: p.source.commit } : {}),
                ...(p.source.ref ? { ref: p.source.ref } : {}),
              },
            }
          : {}),
        attestationDigests: input.attestationDigests,
        rejected: input.evaluation.rejected ?? [],
        decidedAt: input.decidedAt,
        ...(input.timings ? { timings: input.timings } : {}),
      });
      return { ...recorded, ...(requester ? { requester } : {}) };
    },

    /**
     * Archives a denial raised by the pipeline itself (a coded, non-retryable failure).
     * When a decision already exists for this run, it moves to `denied` instead.
     */
    async recordDenial(
      input: DecisionContext & {
        code: string;
        reason: string;
        at: string;
        /** Milliseconds per step before the denial, by the workflow's clock. */
        timings?: Record<string, number>;
      },
    ): Promise<{ decisionId: string }> {
      const existing = await archive.getDecision(input.decisionId);
      if (existing) {
        // Already closed without a publish (denied, rejected, expired): that record stands.
        if (!['denied', 'rejected', 'expired'].includes(existing.status)) {
          await archive.transition(
            input.decisionId,
            existing.status as DecisionStatus,
            'denied',
            'slsa-gate',
            {
              code: input.code,
              reason: input.reason,
            },
          );
        }
        return { decisionId: input.decisionId };
      }
      const check: CheckResult = {
        id: 'pipeline',
        result: 'FAIL',
        code: input.code as CheckResult['code'],
        reason: input.reason,
        evidence: [],
      };
      await recordCounted(deps, {
        decisionId: input.decisionId,
        workflowId: input.workflowId,
        runId: input.runId,
        artifact: artifactRecord(input.candidate),
        requester: input.requester,
        checks: [check],
        outcome: 'FAILED',
        policy: await policyRefOf(deps),
        attestationDigests: [],
        decidedAt: input.at,
        ...(input.timings ? { timings: input.timings } : {}),
      });
      await archive.transition(input.decisionId, 'decided', 'denied', 'slsa-gate');
      return { decisionId: input.decisionId };
    },

    async transitionDecision(input: {
      decisionId: string;
      from: DecisionStatus;
      to: DecisionStatus;
      by?: string;
    }) {
      return archive.transition(input.decisionId, input.from, input.to, input.by);
    },

    /**
     * Checks who sent a verdict, then archives it. The sender is the identity the API sealed
     * for this verdict on this run; without one the verdict is only a typed name, refused unless
     * the operator allows unverified approvals, and even then counted only where any one
     * approver will do. Whether it counts is approval-quorum.ts's decision, taken here on the
     * verified identity (the workflow's validator took it on what the caller claimed).
     * APPROVER_NOT_ALLOWED refuses this verdict only; the publish keeps waiting for another.
     */
    async recordApproval(input: {
      decisionId: string;
      approver: string;
      reason: string;
      verdict: 'approve' | 'reject';
      at: string;
      workflowId?: string;
      /** The run awaiting this verdict: a seal for another run of the same workflow id is refused. */
      runId?: string;
      /** The digest of the run's request (admitRequest): a seal for another request is refused. */
      requestDigest?: string;
      identity?: SealedIdentity;
      /** The requester as verified when the decision was recorded; absent for an operator's request. */
      requester?: Identity;
      quorum: ApprovalQuorum;
      /** The verdicts that already counted on this run. */
      given: QuorumState['given'];
    }): Promise<{
      approvalId: string;
      approver: string;
      verified: boolean;
      group?: string;
      /** Who the seal vouched for, for the distinct-approver comparisons of the next verdicts. */
      identity?: Identity;
    }> {
      const sender = input.identity
        ? openSeal(
            deps,
            input.identity,
            {
              purpose: input.verdict,
              workflowId: input.workflowId ?? '',
              runId: input.runId ?? '',
              ...(input.requestDigest ? { requestDigest: input.requestDigest } : {}),
              now: new Date(input.at),
            },
            'APPROVER_NOT_ALLOWED',
          )
        : undefined;
      const answer = verdictCounts(
        input.quorum,
        { ...(sender ? { identity: sender } : {}), typedName: input.approver },
        {
          ...(input.requester ? { requester: input.requester } : {}),
          given: input.given,
          unverifiedAllowed: deps.settings.allowUnverifiedApprovals === true,
        },
      );
      if (!answer.counts)
        throw new GateError('APPROVER_NOT_ALLOWED', answer.reason, {
          detail: { approver: sender?.id ?? unverifiedApproverName(input.approver) },
        });
      const recorded = {
        approver: sender?.id ?? unverifiedApproverName(input.approver),
        verified: sender !== undefined,
        ...(answer.group === undefined ? {} : { group: answer.group }),
      };
      const { approvalId } = await archive.recordApproval(input.decisionId, {
        ...recorded,
        verdict: input.verdict,
        reason: input.reason,
        at: input.at,
      });
      return { approvalId, ...recorded, ...(sender ? { identity: sender } : {}) };
    },

    /**
     * Records that a run was cancelled: the open decision moves to `cancelled`;
     * a run cancelled before its decision gets a FAILED decision with code CANCELLED, so every
     * run that ends leaves an archived decision.
     */
    async recordCancellation(input: DecisionContext & { reason: string; by?: string; at: string }) {
      const { reason, by, at, ...context } = input;
      const ended = await archiveRunEnd(deps, context, {
        status: 'cancelled',
        code: 'CANCELLED',
        reason,
        by: by ?? 'temporal (cancel request)',
        at,
        data: { reason },
      });
      return { status: ended.status === 'published' ? ('published' as const) : ('cancelled' as const) };
    },

    /** The published decision for this digest at this destination and tag, if there is one. */
    async findPublished(input: { repository: string; digest: string; tag?: string }) {
      const found = await archive.findPublished(input.repository, input.digest, input.tag);
      return found ?? null;
    },

    async markPublished(input: {
      decisionId: string;
      repository: string;
      digest: string;
      tag?: string;
      vsaDigest?: string;
      at: string;
      /** Milliseconds per step after the decision (approval wait, copy, VSA), by the workflow's clock. */
      timings?: Record<string, number>;
    }) {
      const { decisionId, ...published } = input;
      return archive.markPublished(decisionId, published);
    },
  };
}

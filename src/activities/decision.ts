import type { DecisionStatus } from '../archive/archive.ts';
import type { Evaluation } from '../core/policy/evaluate.ts';
import type { CheckResult } from '../core/model.ts';
import type { Candidate } from '../workflows/contract.ts';
import type { ActivityDeps } from './deps.ts';
import type { EvidenceFacts } from '../core/provenance/evidence-facts.ts';
import { policyDigestOf } from './policy.ts';

interface DecisionContext {
  decisionId: string;
  workflowId: string;
  runId: string;
  candidate: Candidate;
  releaseRepository: string;
  requester: string;
}

const artifactRecord = (c: Candidate) => ({
  repository: `${c.registry}/${c.repository}`,
  ...(c.tag ? { tag: c.tag } : {}),
  digest: c.digest,
  uri: `oci://${c.registry}/${c.repository}@${c.digest}`,
});

export function createDecisionActivities(deps: ActivityDeps) {
  const { archive } = deps;
  return {
    /** Archives the policy decision; idempotent, and refuses a different decision under the same id. */
    async recordDecision(
      input: DecisionContext & {
        evaluation: Evaluation;
        policyDigest: string;
        attestationDigests: string[];
        facts: EvidenceFacts;
        decidedAt: string;
      },
    ): Promise<{ decisionId: string }> {
      const p = input.evaluation.provenance;
      return archive.recordDecision({
        decisionId: input.decisionId,
        workflowId: input.workflowId,
        runId: input.runId,
        artifact: artifactRecord(input.candidate),
        requester: input.requester,
        checks: input.evaluation.checks,
        outcome: input.evaluation.outcome,
        policy: { digest: input.policyDigest },
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
        decidedAt: input.decidedAt,
      });
    },

    /**
     * Archives a denial raised by the pipeline itself (a coded, non-retryable failure).
     * When a decision already exists for this run, it moves to `denied` instead.
     */
    async recordDenial(
      input: DecisionContext & {
        code: string;
        reason: string;
        policy?: { text: string; origin: string };
        at: string;
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
      await archive.recordDecision({
        decisionId: input.decisionId,
        workflowId: input.workflowId,
        runId: input.runId,
        artifact: artifactRecord(input.candidate),
        requester: input.requester,
        checks: [check],
        outcome: 'FAILED',
        policy: { digest: policyDigestOf(deps, input.policy) },
        attestationDigests: [],
        decidedAt: input.at,
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

    async recordApproval(input: {
      decisionId: string;
      approver: string;
      reason: string;
      verdict: 'approve' | 'reject';
      at: string;
    }) {
      return archive.recordApproval(input.decisionId, {
        approver: input.approver,
        verdict: input.verdict,
        reason: input.reason,
        at: input.at,
      });
    },

    async markPublished(input: {
      decisionId: string;
      repository: string;
      digest: string;
      tag?: string;
      vsaDigest?: string;
      at: string;
    }) {
      const { decisionId, ...published } = input;
      return archive.markPublished(decisionId, published);
    },
  };
}

import { createHash } from 'node:crypto';
import { GateError } from '../core/errors.ts';
import type { Evaluation } from '../core/policy/evaluate.ts';
import { parsePolicy, selectRule } from '../core/policy/policy-file.ts';
import { tagOf } from '../core/provenance/git-uri.ts';
import { Context } from '@temporalio/activity';
import {
  mergeLevelResolutions,
  resourcesOfFacts,
  type LevelResolution,
  type ProvenanceResources,
} from '../attestors/resolve-levels.ts';
import { durationSeconds, type LevelEvidence, type PolicyRule } from '../core/policy/policy-rule.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { verifyAndEvaluate } from '../core/verify-and-evaluate.ts';
import type { Candidate } from '../workflows/contract.ts';
import type { ActivityDeps } from './deps.ts';
import type { EvidenceFacts } from '../core/provenance/evidence-facts.ts';
import { artifactOf } from './evidence.ts';
import { loadArchivedAttestations } from './archived-attestations.ts';

const DEFAULT_APPROVAL_DEADLINE_SECONDS = 24 * 3600;

export interface PolicyEvaluation {
  evaluation: Evaluation;
  policyDigest: string;
  approval: { twoPersonRule: boolean; deadlineSeconds: number };
}

/** The request's policy or the worker's; none at all is POLICY_INCOMPLETE (CHECKLIST row 10). */
export function policyText(deps: ActivityDeps, policy?: { text: string; origin: string }) {
  const chosen = policy ?? deps.defaultPolicy;
  if (!chosen)
    throw new GateError(
      'POLICY_INCOMPLETE',
      'no policy: the request carries none and SLSA_GATE_POLICY is not set',
    );
  return chosen;
}

/** A policy's digest even when it does not parse (for the record of a denial). */
export function policyDigestOf(deps: ActivityDeps, policy?: { text: string; origin: string }): string {
  const chosen = policy ?? deps.defaultPolicy;
  if (!chosen) return `sha256:${createHash('sha256').update('').digest('hex')}`;
  try {
    return parsePolicy(chosen.text, chosen.origin, deps.trustMap).digest;
  } catch {
    return `sha256:${createHash('sha256').update(chosen.text).digest('hex')}`;
  }
}

/**
 * What was last published at `repository:tag` (CHECKLIST rows 21, 22): the monotonic
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

    /** Re-verifies the archived evidence and evaluates the policy rule for the candidate. */
    async evaluatePolicy(input: {
      candidate: Candidate;
      attestationDigests: string[];
      levels: LevelEvidence;
      policy?: { text: string; origin: string };
      now: string;
      /** Where it will be published: `registry/repository` and the tag, for the rollback check. */
      release?: { repository: string; tag?: string };
    }): Promise<PolicyEvaluation> {
      const { text, origin } = policyText(deps, input.policy);
      const { policy, digest } = parsePolicy(text, origin, deps.trustMap);
      await deps.archive.storePolicy(digest, text);
      const rule: PolicyRule = selectRule(
        policy,
        `${input.candidate.registry}/${input.candidate.repository}`,
      );

      const records = await loadArchivedAttestations(deps.archive, input.attestationDigests);
      const { evaluation } = verifyAndEvaluate(
        {
          artifact: artifactOf(input.candidate),
          attestations: records.flatMap((r) => loadAttestations(Buffer.from(r.raw, 'base64'), r.origin)),
          trust: deps.trust,
          trustMap: deps.trustMap,
          levels: input.levels,
          now: new Date(input.now),
          ...(input.release?.tag
            ? { rollback: await lastPublished(deps, input.release.repository, input.release.tag) }
            : {}),
        },
        rule,
      );
      return {
        evaluation,
        policyDigest: digest,
        approval: {
          twoPersonRule: rule.twoPersonRule,
          deadlineSeconds: rule.approvalDeadline
            ? durationSeconds(rule.approvalDeadline)
            : DEFAULT_APPROVAL_DEADLINE_SECONDS,
        },
      };
    },
  };
}

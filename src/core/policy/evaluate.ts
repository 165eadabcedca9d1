/**
 * Policy evaluation: pure and synchronous. Each attestation is evaluated whole, never
 * mixing fields across attestations (docs/checklist.md#row-18); the first SLSA provenance that
 * passes every check is used, else the failures of the best candidate are reported.
 */
import * as z from 'zod';
import { isGateError } from '../errors.ts';
import { INTOTO_PAYLOAD_TYPE } from '../formats/intoto/statement.ts';
import {
  CheckResultSchema,
  OutcomeSchema,
  RejectionSchema,
  type ArtifactRef,
  type CheckResult,
  type Outcome,
  type EvaluatedAttestation,
} from '../model.ts';
import { normaliseProvenance } from '../provenance/normalise-provenance.ts';
import {
  isProvenancePredicateType,
  ProvenanceSchema,
  type NormalisedProvenance,
  type Provenance,
} from '../provenance/provenance.ts';
import { checkBuildLevel } from './checks/build-level.ts';
import { checkBuilder } from './checks/builder.ts';
import { fail, skipped } from './check-result.ts';
import { checkDependencies } from './checks/dependencies.ts';
import { checkEntrypoint } from './checks/entrypoint.ts';
import { checkIdentity } from './guards/identity.ts';
import { checkPackage } from './guards/package.ts';
import { checkSource } from './checks/source.ts';
import { checkSubject } from './guards/subject.ts';
import { checkVsa } from './guards/vsa.ts';
import type { LevelEvidence, PolicyRule } from './policy-rule.ts';
import { checkDestination } from './guards/destination.ts';
import { checkRequester, type RequesterInput } from './guards/requester.ts';
import { checkRollback, type PublishedRecord } from './guards/rollback.ts';
import type { TrustMap } from './trust-map.ts';
import { rejectionOf, type RejectedAttestation } from '../verify/verify-attestations.ts';

export const EvaluationSchema = z.strictObject({
  outcome: OutcomeSchema,
  checks: z.array(CheckResultSchema),
  /** The provenance the decision rests on (the passing one, or the best failing candidate). */
  provenance: ProvenanceSchema.optional(),
  /** Digest of the attestation that provenance came from. */
  attestationDigest: z.string().optional(),
  /**
   * Every attestation presented that did not count, with its code. Absent from evaluations
   * recorded before it existed: none then.
   */
  rejected: z.array(RejectionSchema).optional(),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;

export interface EvaluateInput {
  artifact: ArtifactRef;
  attestations: EvaluatedAttestation[];
  rule: PolicyRule;
  trustMap: TrustMap;
  levels?: LevelEvidence;
  now: Date;
  /**
   * Attestations that were presented and did not verify: when no provenance verified, the
   * denial names them instead of reporting that there was none.
   */
  rejected?: readonly RejectedAttestation[];
  /** When publishing to a tag: its `repo:tag` and what was last published there (docs/checklist.md#row-21 and docs/checklist.md#row-22). */
  rollback?: { target: string; last?: PublishedRecord; signedAt?: string };
  /** On the publish path: where it is to be published; the rule must name it. */
  destination?: { repository: string; tag?: string };
  /**
   * On the publish path, with `destination`: the verified requester, whose grants must cover
   * the verified source and the destination (docs/security-model.md#what-a-requester-may-publish).
   */
  requester?: RequesterInput;
}

interface Candidate {
  att: EvaluatedAttestation;
  provenance?: Provenance;
  checks: CheckResult[];
}

function failures(checks: CheckResult[]): number {
  return checks.filter((c) => c.result === 'FAIL').length;
}

/** The outcome of a set of checks: any FAIL fails; an exception or the rule needing approval asks for it. */
export function outcomeOf(checks: CheckResult[], rule: PolicyRule): Outcome {
  if (failures(checks) > 0) return 'FAILED';
  const asksApproval = rule.approvalRequired || rule.approvals !== undefined;
  if (asksApproval || checks.some((c) => c.needsApproval === true)) return 'NEEDS_APPROVAL';
  return 'PASSED';
}

function evaluateCandidate(input: EvaluateInput, att: EvaluatedAttestation): Candidate {
  const { rule } = input;
  const identity = checkIdentity(rule, att);
  // DSSE payloadType binds the bytes to their meaning; the signature layer requires it too (docs/checklist.md#row-14).
  if (att.payloadType !== INTOTO_PAYLOAD_TYPE)
    return {
      att,
      checks: [
        fail(
          'payload-type',
          'PAYLOAD_TYPE',
          `${att.origin}: payloadType ${JSON.stringify(att.payloadType)} is not ${INTOTO_PAYLOAD_TYPE}`,
          [att.digest],
        ),
        identity,
      ],
    };
  let normalised: NormalisedProvenance;
  try {
    normalised = normaliseProvenance(att);
  } catch (err) {
    if (!isGateError(err)) throw err;
    // Only an unreadable predicate throws: it is not usable provenance.
    return { att, checks: [identity, fail('provenance', err.code, err.message, [att.digest])] };
  }
  const { provenance, findings } = normalised;
  const builder = checkBuilder(rule, att, provenance, findings, input.trustMap);
  const checks: CheckResult[] = [
    checkSubject(input.artifact, att, provenance),
    identity,
    builder.check,
    checkBuildLevel(rule, att, builder.trust),
    checkSource(rule, att, provenance, findings, input.levels),
    checkEntrypoint(rule, att, provenance),
    checkDependencies(rule, att, provenance, input.levels, input.now),
    checkPackage(rule, input.attestations, provenance, input.artifact),
  ];
  return { att, provenance, checks };
}

const PROVENANCE_CHECKS = ['builder', 'build-level', 'source', 'entrypoint', 'dependencies'] as const;

/** Evaluate a rule over verified attestations for one artifact; the rejections are carried into the result. */
export function evaluate(input: EvaluateInput): Evaluation {
  return { ...evaluateChecks(input), rejected: (input.rejected ?? []).map(rejectionOf) };
}

function evaluateChecks(input: EvaluateInput): Evaluation {
  const { rule, attestations } = input;
  const vsa = checkVsa(rule, attestations);
  const destination = (provenance?: Provenance) =>
    input.destination === undefined
      ? []
      : [
          checkDestination(rule, {
            ...input.destination,
            artifact: input.artifact,
            ...(provenance ? { provenance } : {}),
          }),
          ...(input.requester === undefined
            ? []
            : [
                checkRequester(input.requester, {
                  repository: input.destination.repository,
                  artifact: input.artifact,
                  ...(provenance ? { provenance } : {}),
                }),
              ]),
        ];

  if (!rule.requireProvenance) {
    // Signature- or VSA-only rules: some attestation's signer must be one the rule names.
    const identities = attestations.map((a) => checkIdentity(rule, a));
    const identity =
      identities.find((c) => c.result === 'PASS') ??
      identities.find((c) => c.result === 'SKIPPED') ??
      identities[0] ??
      fail('identity', 'NO_PROVENANCE', 'no verified attestation', []);
    const checks = [
      identity,
      ...PROVENANCE_CHECKS.map((id) => skipped(id, 'the rule does not require SLSA provenance')),
      checkPackage(rule, attestations, undefined, input.artifact),
      vsa,
      ...destination(),
    ];
    return { outcome: outcomeOf(checks, rule), checks };
  }

  const provenances = attestations.filter(
    (a) =>
      isProvenancePredicateType(a.predicateType) &&
      (rule.provenancePredicateTypes?.includes(a.predicateType ?? '') ?? true),
  );
  if (provenances.length === 0) {
    const kinds =
      [...new Set(attestations.map((a) => a.predicateType ?? a.payloadType))].join(', ') || 'none';
    const rejected = input.rejected ?? [];
    const first = rejected[0] === undefined ? undefined : rejectionOf(rejected[0]);
    // A tampered provenance is not a missing one: the first rejection's code is what was wrong.
    // It is named once here; every rejection is in the evaluation's `rejected`.
    const more = rejected.length > 1 ? ` (and ${rejected.length - 1} more rejected)` : '';
    const missing =
      first === undefined
        ? fail(
            'provenance',
            'NO_PROVENANCE',
            `no SLSA provenance among ${attestations.length} attestations (${kinds})`,
            attestations.map((a) => a.digest),
          )
        : fail(
            'provenance',
            first.code,
            `no SLSA provenance verified among ${attestations.length} verified attestations (${kinds}); ${first.origin} was rejected: ${first.reason}${more}`,
            attestations.map((a) => a.digest),
          );
    const checks = [
      missing,
      checkPackage(rule, attestations, undefined, input.artifact),
      vsa,
      ...destination(),
    ];
    return { outcome: 'FAILED', checks };
  }

  let best: Candidate | undefined;
  for (const att of provenances) {
    const candidate = evaluateCandidate(input, att);
    if (input.rollback !== undefined && candidate.provenance !== undefined) {
      const { target, last, signedAt } = input.rollback;
      const rb: Parameters<typeof checkRollback>[0] = {
        target,
        artifact: input.artifact,
        provenance: candidate.provenance,
      };
      if (last !== undefined) rb.last = last;
      if (signedAt !== undefined) rb.signedAt = signedAt;
      candidate.checks.push(checkRollback(rb));
    }
    candidate.checks.push(vsa, ...destination(candidate.provenance));
    if (failures(candidate.checks) === 0) {
      best = candidate;
      break;
    }
    if (best === undefined || failures(candidate.checks) < failures(best.checks)) best = candidate;
  }
  const chosen = best!;
  const result: Evaluation = {
    outcome: outcomeOf(chosen.checks, rule),
    checks: chosen.checks,
    attestationDigest: chosen.att.digest,
  };
  if (chosen.provenance !== undefined) result.provenance = chosen.provenance;
  return result;
}

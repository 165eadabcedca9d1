/**
 * Five generated decisions with a known answer for every audit filter (dates in March 2026),
 * and how they are stored: the shared fixture of the audit query tests and the audit API tests.
 */
import type { Archive } from '../../src/archive/archive.ts';
import type { DecisionInput } from '../../src/archive/decision-record.ts';
import { sha256Digest } from '../../src/archive/digest.ts';
import { fakeDigest, makeAttestation, makeDecision } from '../integration/archive/make-records.ts';

export const policyA = 'version: 1\nname: a\n';
export const policyB = 'version: 1\nname: b\n';
export const builderA = 'https://github.com/slsa-framework/slsa-github-generator';
export const builderB = 'https://evil.example/builder';

/**
 * d1 PASSED on reg/release/app:v1 (builder A v1.2, policy A, 03-01); d2 FAILED by builder B
 * (BUILDER_UNTRUSTED, policy B, commit 2…, app:v2, 03-02); d3 NEEDS_APPROVAL on reg/release/lib
 * with an exception (builder A v1.3, 03-03 10:00); d4 FAILED on reg/release/other with
 * SOURCE_MISMATCH and DEP_LEVEL_INSUFFICIENT (builder A v1.2, 03-03 12:00); d5 NEEDS_APPROVAL
 * on app:v3 (builder A v1.2, policy B, 03-04). Labels are `<prefix>1` … `<prefix>5`, artifact
 * digests `fakeDigest('artifact-<prefix>N')`. `hostile`, when given, is appended to d2's
 * builder id and failure reason (text an attacker could choose).
 */
export function auditDecisions(
  prefix: string,
  options: { hostile?: string } = {},
): Record<string, DecisionInput> {
  const { hostile } = options;
  return {
    d1: makeDecision(`${prefix}1`, {
      builder: { id: builderA, version: 'v1.2' },
      source: { repo: 'git+https://github.com/acme/app', commit: '1'.repeat(40) },
      policy: { digest: sha256Digest(policyA) },
      artifact: { repository: 'reg/release/app', tag: 'v1', digest: fakeDigest(`artifact-${prefix}1`) },
      decidedAt: '2026-03-01T10:00:00Z',
    }),
    d2: makeDecision(`${prefix}2`, {
      outcome: 'FAILED',
      checks: [
        { id: 'subject', result: 'PASS', reason: 'ok' },
        {
          id: 'builder',
          result: 'FAIL',
          code: 'BUILDER_UNTRUSTED',
          reason: hostile === undefined ? 'unknown builder' : `unknown builder ${hostile}`,
        },
      ],
      builder: { id: `${builderB}${hostile ?? ''}`, version: 'v2.0' },
      source: { repo: 'git+https://github.com/acme/app', commit: '2'.repeat(40) },
      policy: { digest: sha256Digest(policyB) },
      artifact: { repository: 'reg/release/app', tag: 'v2', digest: fakeDigest(`artifact-${prefix}2`) },
      decidedAt: '2026-03-02T10:00:00Z',
    }),
    d3: makeDecision(`${prefix}3`, {
      outcome: 'NEEDS_APPROVAL',
      checks: [{ id: 'dependencies', result: 'PASS', reason: 'exception', needsApproval: true }],
      builder: { id: builderA, version: 'v1.3' },
      source: { repo: 'git+https://github.com/acme/lib', commit: '3'.repeat(40) },
      policy: { digest: sha256Digest(policyA) },
      artifact: { repository: 'reg/release/lib', tag: 'v1', digest: fakeDigest(`artifact-${prefix}3`) },
      exceptions: [
        {
          check: 'dependencies',
          subject: 'pkg:npm/left-pad@1.3.0',
          grantedBy: 'sec@acme.example',
          reason: 'vendored',
          grantedAt: '2026-02-01T00:00:00Z',
        },
      ],
      decidedAt: '2026-03-03T10:00:00Z',
    }),
    d4: makeDecision(`${prefix}4`, {
      outcome: 'FAILED',
      checks: [
        { id: 'source', result: 'FAIL', code: 'SOURCE_MISMATCH', reason: 'other repo' },
        { id: 'dependencies', result: 'FAIL', code: 'DEP_LEVEL_INSUFFICIENT', reason: 'L1 dep' },
      ],
      builder: { id: builderA, version: 'v1.2' },
      source: { repo: 'git+https://github.com/acme/other', commit: '4'.repeat(40) },
      policy: { digest: sha256Digest(policyA) },
      artifact: { repository: 'reg/release/other', digest: fakeDigest(`artifact-${prefix}4`) },
      decidedAt: '2026-03-03T12:00:00Z',
    }),
    d5: makeDecision(`${prefix}5`, {
      outcome: 'NEEDS_APPROVAL',
      checks: [{ id: 'builder', result: 'PASS', reason: 'exception', needsApproval: true }],
      builder: { id: builderA, version: 'v1.2' },
      source: { repo: 'git+https://github.com/acme/app', commit: '5'.repeat(40) },
      policy: { digest: sha256Digest(policyB) },
      artifact: { repository: 'reg/release/app', tag: 'v3', digest: fakeDigest(`artifact-${prefix}5`) },
      decidedAt: '2026-03-04T10:00:00Z',
    }),
  };
}

/**
 * Stores both policies, and each decision with its one attestation; then d2 and d4 are denied,
 * d1 is published to reg/release/app, d3 is approved by alice (reason `approvalReason`), and d5
 * awaits approval with bob's reject verdict recorded (its status is left for the caller).
 */
export async function storeAuditDecisions(
  archive: Archive,
  decisions: Record<string, DecisionInput>,
  options: { approvalReason: string },
): Promise<void> {
  const id = (key: string) => decisions[key]!.decisionId;
  const at = '2026-03-05T00:00:00Z';
  await archive.storePolicy(sha256Digest(policyA), policyA);
  await archive.storePolicy(sha256Digest(policyB), policyB);
  for (const [key, input] of Object.entries(decisions)) {
    await archive.storeAttestations([makeAttestation(input.workflowId.replace('publish-', ''))]);
    await archive.recordDecision(input);
    if (key === 'd2' || key === 'd4')
      await archive.transition(input.decisionId, 'decided', 'denied', 'slsa-gate');
  }
  await archive.markPublished(id('d1'), {
    repository: 'reg/release/app',
    digest: decisions.d1!.artifact.digest,
    at,
  });
  await archive.transition(id('d3'), 'decided', 'awaiting-approval');
  await archive.recordApproval(id('d3'), {
    approver: 'alice@acme.example',
    verdict: 'approve',
    reason: options.approvalReason,
    at,
    verified: true,
  });
  await archive.transition(id('d3'), 'awaiting-approval', 'approved', 'alice@acme.example');
  await archive.transition(id('d5'), 'decided', 'awaiting-approval');
  await archive.recordApproval(id('d5'), {
    approver: 'bob@acme.example',
    verdict: 'reject',
    reason: 'no',
    at,
    verified: true,
  });
}

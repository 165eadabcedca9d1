/** Generated archive inputs for the archive tests and the audit bench (made here, not upstream data). */
import { createHash } from 'node:crypto';
import type { AttestationInput } from '../../../src/archive/attestation-record.ts';
import type { DecisionInput } from '../../../src/archive/decision-record.ts';

/** `sha256:<hex>` of a label, for readable, distinct fake digests. */
export function fakeDigest(label: string): string {
  return `sha256:${createHash('sha256').update(label).digest('hex')}`;
}

/** An attestation input whose raw bytes are a small JSON statement naming `label`. */
export function makeAttestation(label: string, overrides: Partial<AttestationInput> = {}): AttestationInput {
  const statement = { _type: 'https://in-toto.io/Statement/v1', label };
  return {
    raw: Buffer.from(JSON.stringify(statement)).toString('base64'),
    predicateType: 'https://slsa.dev/provenance/v1',
    subjects: [{ name: 'app', digest: { sha256: fakeDigest(`artifact-${label}`).slice(7) } }],
    signerIdentity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    signerIssuer: 'https://token.actions.githubusercontent.com',
    builderId: 'https://github.com/actions/runner',
    sourceRepo: 'git+https://github.com/acme/app',
    sourceCommit: 'a'.repeat(40),
    origin: `oci://127.0.0.1:5000/staging/app@${fakeDigest(`artifact-${label}`)}`,
    fetchedAt: '2026-03-01T10:00:00.000Z',
    ...overrides,
  };
}

/** The raw bytes' digest of `makeAttestation(label)`. */
export function attestationDigest(label: string): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', label }))
    .digest('hex')}`;
}

/** A PASSED decision on `artifact-<label>`; override any field. */
export function makeDecision(label: string, overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    decisionId: `publish-${label}/run-1`,
    workflowId: `publish-${label}`,
    runId: 'run-1',
    artifact: {
      repository: '127.0.0.1:5000/release/app',
      tag: 'v1.0.0',
      digest: fakeDigest(`artifact-${label}`),
    },
    requester: 'ci@acme.example',
    checks: [
      {
        id: 'subject',
        result: 'PASS',
        reason: 'artifact digest is a subject',
        evidence: [attestationDigest(label)],
      },
      { id: 'builder', result: 'PASS', reason: 'trusted builder', level: 3, evidence: [] },
    ],
    outcome: 'PASSED',
    policy: { digest: fakeDigest('policy-1'), uri: 'file:policy.yaml' },
    builder: { id: 'https://github.com/actions/runner', version: '1.2' },
    source: { repo: 'git+https://github.com/acme/app', commit: 'a'.repeat(40), ref: 'refs/heads/main' },
    attestationDigests: [attestationDigest(label)],
    exceptions: [],
    requestedAt: '2026-03-01T09:59:00.000Z',
    decidedAt: '2026-03-01T10:00:05.000Z',
    timings: { resolve: 12, fetch: 40, verify: 8 },
    ...overrides,
  };
}

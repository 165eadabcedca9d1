/**
 * The audit read model: the archive as flat tables, one Parquet dataset per table,
 * partitioned by UTC day (`<table>/day=YYYY-MM-DD/*.parquet`). The column lists here are the
 * documented schema (docs/audit.md); rows are built from archive records, which were
 * validated by their zod codecs on the way out of the store.
 */
import type { ApprovalRecord } from '../../archive/approval-record.ts';
import type { AttestationRecord } from '../../archive/attestation-record.ts';
import type { DecisionRecord } from '../../archive/decision-record.ts';
import type { EventRecord } from '../../archive/event-record.ts';
import type { ExceptionRecord } from '../../archive/exception-record.ts';
import type { PolicyRecord } from '../../archive/policy-record.ts';
import type { VsaRecord } from '../../archive/vsa-record.ts';
import { recordedDependencies } from './recorded-dependencies.ts';

/** DuckDB column types used by the read model. */
type ColumnType = 'VARCHAR' | 'VARCHAR[]' | 'TIMESTAMPTZ' | 'INTEGER' | 'BIGINT' | 'DOUBLE';

/** One table: its columns (name → type) and the SQL expression of its row key. */
export interface TableSpec {
  columns: Record<string, ColumnType>;
  /** Unique per row: an incremental export skips rows whose key is already written. */
  key: string;
}

export const TABLES = {
  decisions: {
    key: 'decision_id',
    columns: {
      decision_id: 'VARCHAR',
      workflow_id: 'VARCHAR',
      run_id: 'VARCHAR',
      repository: 'VARCHAR',
      tag: 'VARCHAR',
      artifact_digest: 'VARCHAR',
      requester: 'VARCHAR',
      outcome: 'VARCHAR',
      policy_digest: 'VARCHAR',
      builder_id: 'VARCHAR',
      builder_version: 'VARCHAR',
      source_repo: 'VARCHAR',
      source_commit: 'VARCHAR',
      source_ref: 'VARCHAR',
      failing_codes: 'VARCHAR[]',
      failing_checks: 'VARCHAR[]',
      attestation_digests: 'VARCHAR[]',
      evidence_digest: 'VARCHAR',
      content_digest: 'VARCHAR',
      exception_count: 'INTEGER',
      requested_at: 'TIMESTAMPTZ',
      decided_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  checks: {
    key: "decision_id || '#' || position",
    columns: {
      decision_id: 'VARCHAR',
      position: 'INTEGER',
      check_id: 'VARCHAR',
      result: 'VARCHAR',
      code: 'VARCHAR',
      level: 'INTEGER',
      reason: 'VARCHAR',
      evidence: 'VARCHAR[]',
      decided_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  source_refs: {
    key: 'decision_id',
    columns: {
      decision_id: 'VARCHAR',
      source_repo: 'VARCHAR',
      source_commit: 'VARCHAR',
      source_ref: 'VARCHAR',
      decided_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  attestations: {
    key: 'digest',
    columns: {
      digest: 'VARCHAR',
      predicate_type: 'VARCHAR',
      size: 'BIGINT',
      subject_names: 'VARCHAR[]',
      subject_digests: 'VARCHAR[]',
      signer_identity: 'VARCHAR',
      signer_issuer: 'VARCHAR',
      builder_id: 'VARCHAR',
      source_repo: 'VARCHAR',
      source_commit: 'VARCHAR',
      origin: 'VARCHAR',
      fetched_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  dependencies: {
    key: "attestation_digest || '#' || position",
    columns: {
      attestation_digest: 'VARCHAR',
      position: 'INTEGER',
      uri: 'VARCHAR',
      name: 'VARCHAR',
      /** `alg:hex` of each digest the provenance recorded for it. */
      digests: 'VARCHAR[]',
      sha256: 'VARCHAR',
      fetched_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  vsas: {
    key: 'vsa_id',
    columns: {
      vsa_id: 'VARCHAR',
      digest: 'VARCHAR',
      direction: 'VARCHAR',
      decision_id: 'VARCHAR',
      subject_digest: 'VARCHAR',
      resource_uri: 'VARCHAR',
      verifier_id: 'VARCHAR',
      verified_levels: 'VARCHAR[]',
      policy_digest: 'VARCHAR',
      recorded_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  approvals: {
    key: 'approval_id',
    columns: {
      approval_id: 'VARCHAR',
      decision_id: 'VARCHAR',
      approver: 'VARCHAR',
      verdict: 'VARCHAR',
      reason: 'VARCHAR',
      given_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  exceptions: {
    key: 'exception_id',
    columns: {
      exception_id: 'VARCHAR',
      decision_id: 'VARCHAR',
      check_id: 'VARCHAR',
      subject: 'VARCHAR',
      granted_by: 'VARCHAR',
      reason: 'VARCHAR',
      granted_at: 'TIMESTAMPTZ',
      expires_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
  events: {
    key: 'event_id',
    columns: {
      event_id: 'VARCHAR',
      decision_id: 'VARCHAR',
      from_status: 'VARCHAR',
      to_status: 'VARCHAR',
      occurred_at: 'TIMESTAMPTZ',
      actor: 'VARCHAR',
      /** The event's context as JSON text (`published`: repository, digest, tag, at). */
      data: 'VARCHAR',
      day: 'VARCHAR',
    },
  },
  policies: {
    key: 'policy_id',
    columns: {
      policy_id: 'VARCHAR',
      digest: 'VARCHAR',
      text_digest: 'VARCHAR',
      text: 'VARCHAR',
      first_stored_at: 'TIMESTAMPTZ',
      day: 'VARCHAR',
    },
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** A row as JSON: column → value (timestamps as ISO-8601 strings, absent values null). */
export type Row = Record<string, string | number | string[] | null>;

const day = (iso: string) => iso.slice(0, 10);

/** The decisions, checks and source_refs rows of one decision. */
export function decisionRows(d: DecisionRecord): { decisions: Row; checks: Row[]; source_refs: Row[] } {
  const decided = d.decidedAt;
  return {
    decisions: {
      decision_id: d._id,
      workflow_id: d.workflowId,
      run_id: d.runId,
      repository: d.artifact.repository,
      tag: d.artifact.tag ?? null,
      artifact_digest: d.artifact.digest,
      requester: d.requester,
      outcome: d.outcome,
      policy_digest: d.policy.digest,
      builder_id: d.builder?.id ?? null,
      builder_version: d.builder?.version ?? null,
      source_repo: d.source?.repo ?? null,
      source_commit: d.source?.commit ?? null,
      source_ref: d.source?.ref ?? null,
      failing_codes: d.failingCodes,
      failing_checks: d.failingChecks,
      attestation_digests: d.attestationDigests,
      evidence_digest: d.evidenceDigest,
      content_digest: d.contentDigest,
      exception_count: d.exceptionCount,
      requested_at: d.requestedAt ?? null,
      decided_at: decided,
      day: day(decided),
    },
    checks: d.checks.map((c, position) => ({
      decision_id: d._id,
      position,
      check_id: c.id,
      result: c.result,
      code: c.code ?? null,
      level: c.level ?? null,
      reason: c.reason,
      evidence: c.evidence ?? [],
      decided_at: decided,
      day: day(decided),
    })),
    source_refs: d.source
      ? [
          {
            decision_id: d._id,
            source_repo: d.source.repo ?? null,
            source_commit: d.source.commit ?? null,
            source_ref: d.source.ref ?? null,
            decided_at: decided,
            day: day(decided),
          },
        ]
      : [],
  };
}

/** The attestations row of one archived attestation and the dependencies its provenance records. */
export function attestationRows(a: AttestationRecord): { attestations: Row; dependencies: Row[] } {
  const fetched = a.fetchedAt;
  return {
    attestations: {
      digest: a._id,
      predicate_type: a.predicateType ?? null,
      size: a.size,
      subject_names: a.subjectNames,
      subject_digests: a.subjectDigests,
      signer_identity: a.signerIdentity ?? null,
      signer_issuer: a.signerIssuer ?? null,
      builder_id: a.builderId ?? null,
      source_repo: a.sourceRepo ?? null,
      source_commit: a.sourceCommit ?? null,
      origin: a.origin,
      fetched_at: fetched,
      day: day(fetched),
    },
    dependencies: recordedDependencies(Buffer.from(a.raw, 'base64'), a.origin).map((dep, position) => ({
      attestation_digest: a._id,
      position,
      uri: dep.uri ?? null,
      name: dep.name ?? null,
      digests: Object.entries(dep.digest).map(([alg, hex]) => `${alg}:${hex.toLowerCase()}`),
      sha256: dep.digest.sha256 ? `sha256:${dep.digest.sha256.toLowerCase()}` : null,
      fetched_at: fetched,
      day: day(fetched),
    })),
  };
}

export function vsaRow(v: Omit<VsaRecord, 'raw'>): Row {
  return {
    vsa_id: v._id,
    digest: v.digest,
    direction: v.direction,
    decision_id: v.decisionId,
    subject_digest: v.subjectDigest,
    resource_uri: v.resourceUri,
    verifier_id: v.verifierId,
    verified_levels: v.verifiedLevels,
    policy_digest: v.policyDigest ?? null,
    recorded_at: v.at,
    day: day(v.at),
  };
}

export function approvalRow(a: ApprovalRecord): Row {
  return {
    approval_id: a._id,
    decision_id: a.decisionId,
    approver: a.approver,
    verdict: a.verdict,
    reason: a.reason,
    given_at: a.at,
    day: day(a.at),
  };
}

export function exceptionRow(e: ExceptionRecord): Row {
  return {
    exception_id: e._id,
    decision_id: e.decisionId,
    check_id: e.check,
    subject: e.subject,
    granted_by: e.grantedBy,
    reason: e.reason,
    granted_at: e.grantedAt,
    expires_at: e.expiresAt ?? null,
    day: day(e.grantedAt),
  };
}

export function eventRow(e: EventRecord): Row {
  return {
    event_id: e._id,
    decision_id: e.decisionId,
    from_status: e.from,
    to_status: e.to,
    occurred_at: e.at,
    actor: e.by ?? null,
    data: e.data ?? null,
    day: day(e.at),
  };
}

export function policyRow(p: PolicyRecord): Row {
  return {
    policy_id: p._id,
    digest: p.digest,
    text_digest: p.textDigest,
    text: p.text,
    first_stored_at: p.firstStoredAt,
    day: day(p.firstStoredAt),
  };
}

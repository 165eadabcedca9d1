/**
 * Replay under a new policy: what-if analysis before a policy is tightened. Each
 * archived decision's raw attestation bytes are re-hashed, loaded and re-verified offline
 * with the configured trust material, then evaluated with the new policy's rule for the
 * artifact — the steps of the `evaluatePolicy` activity (activities/policy.ts), with the
 * archive as the only source. Nothing is fetched and nothing is written.
 *
 * Source and dependency levels came from attestors at publish time; replay does not ask them
 * again. It reuses what the original decision's checks recorded, and says so when a level the
 * new rule needs was not archived (then it counts as level 0, fail-closed, as the workflow does
 * for a level it cannot resolve). The rollback check is not the policy's: its original result
 * is carried over. The destination guard judges again where a published decision went (its
 * release repository and tag), so a destination the new rule no longer names is
 * DESTINATION_NOT_ALLOWED; a decision that published nothing keeps its original destination result.
 * The requester guard's result is carried over: the requester's grants are not policy.
 *
 * Lives in `src/audit/` rather than `src/archive/`: it joins the archive's read side with the
 * verification and policy core, while `src/archive/` holds only the store's own records.
 */
import { createHash } from 'node:crypto';
import type { Archive } from '../archive/archive.ts';
import type { AuditFilters } from '../archive/audit-filters.ts';
import type { DecisionRecord } from '../archive/decision-record.ts';
import { listDecisions } from '../archive/queries.ts';
import { isGateError, type ErrorCode, type GateError } from '../core/errors.ts';
import type { ArtifactRef, CheckId, CheckResult, Outcome, EvaluatedAttestation } from '../core/model.ts';
import { outcomeOf, type Evaluation } from '../core/policy/evaluate.ts';
import { parsePolicy, selectRule, type Policy } from '../core/policy/policy-file.ts';
import type { LevelEvidence, PolicyRule } from '../core/policy/policy-rule.ts';
import type { TrustMap } from '../core/policy/trust-map.ts';
import { normaliseProvenance } from '../core/provenance/normalise-provenance.ts';
import { isProvenancePredicateType } from '../core/provenance/provenance.ts';
import { buildTrustMaterial, type TrustMaterial, type TrustSources } from '../core/trust/trust-material.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { verifyAndEvaluate } from '../core/verify-and-evaluate.ts';
import { createVerifyPool, inOrder } from './verify-pool.ts';

/** A check as archived (JSON input side: `evidence` may be absent). */
type RecordedCheck = DecisionRecord['checks'][number];

/** Where a level used by the replay came from. */
export interface LevelNote {
  kind: 'source' | 'dependencies';
  /**
   * `archived`: the original check recorded it; `lower-bound`: the original dependencies check
   * recorded its lowest level, applied to every dependency; `not-archived`: counted as level 0.
   */
  status: 'archived' | 'lower-bound' | 'not-archived';
  level?: number;
  /** Set when the new rule asks for this level (minLevel > 0): the note matters to the result. */
  needed: boolean;
  detail: string;
}

/** One check before and after, when its result, code or level differs. */
export interface CheckChange {
  id: CheckId;
  before?: Pick<CheckResult, 'result' | 'code' | 'level' | 'reason'>;
  after?: Pick<CheckResult, 'result' | 'code' | 'level' | 'reason'>;
}

/** What replay found for one archived decision. */
export interface ReplayedDecision {
  decisionId: string;
  artifact: DecisionRecord['artifact'];
  decidedAt: string;
  status: DecisionRecord['status'];
  before: { outcome: Outcome; policyDigest: string; failingCodes: string[] };
  /** Absent when the decision could not be replayed. */
  after?: { outcome: Outcome; checks: CheckResult[]; failingCodes: string[] };
  /** The outcome would differ under the new policy. */
  changed: boolean;
  /** Checks whose result, code or level differ (empty when nothing changed or not replayable). */
  checkChanges: CheckChange[];
  levels: LevelNote[];
  /** Why it could not be replayed (evidence missing or altered, pipeline denial before evaluation). */
  notReplayable?: { code: ErrorCode; reason: string };
}

/** The whole replay. */
export interface ReplayReport {
  policy: { digest: string; origin: string };
  /** Evaluation time: each decision's own `decidedAt`, or the time of the replay. */
  at: 'decided' | 'now';
  total: number;
  changed: number;
  unchanged: number;
  notReplayable: number;
  /** Stopped at `maxDecisions` with more matching decisions left. */
  truncated: boolean;
  decisions: ReplayedDecision[];
}

export interface ReplayOptions {
  archive: Archive;
  /** The new policy (YAML or JSON) and where it came from. */
  policy: { text: string; origin: string };
  /** The bytes of the trust material (read once, handed to every verification thread). */
  trust: TrustSources;
  trustMap: TrustMap;
  filters?: AuditFilters;
  /** At most this many decisions, newest first (default 1000). */
  maxDecisions?: number;
  /** `decided` (default): exceptions and deadlines as of each decision; `now`: as of the replay. */
  at?: 'decided' | 'now';
  now?: Date;
  /** Verification threads (src/audit/verify-pool.ts); default 1, in this thread. The report is the same for any number. */
  jobs?: number;
}

/** What every verification thread of a replay is set up with (plain data). */
export interface ReplaySetup {
  policy: { text: string; origin: string };
  trust: TrustSources;
  trustMap: TrustMap;
  at: 'decided' | 'now';
  /** The time of the replay (ISO 8601), for `at: 'now'`. */
  now: string;
}

/** One archived decision with its evidence as read from the archive, or why it could not be read. */
export interface ReplayItem {
  decision: DecisionRecord;
  evidence: Evidence;
}

type Evidence = { records: Array<{ bytes: Uint8Array; origin: string }> } | { problem: string };

/** Re-evaluates the matching archived decisions under `options.policy`; a bad policy is POLICY_INVALID/INCOMPLETE. */
export async function replayDecisions(options: ReplayOptions): Promise<ReplayReport> {
  const { digest } = parsePolicy(options.policy.text, options.policy.origin, options.trustMap);
  const max = options.maxDecisions ?? 1000;
  const setup: ReplaySetup = {
    policy: options.policy,
    trust: options.trust,
    trustMap: options.trustMap,
    at: options.at ?? 'decided',
    now: (options.now ?? new Date()).toISOString(),
  };
  const pool = createVerifyPool({ kind: 'replay', setup }, { jobs: options.jobs ?? 1 });
  let listed = 0;
  let truncated = false;
  // Newest first, page by page: the decisions in hand are the page and the pool's window.
  async function* matching(): AsyncGenerator<DecisionRecord> {
    let cursor: string | undefined;
    do {
      const page = await listDecisions(options.archive, options.filters ?? {}, {
        limit: Math.min(200, max - listed),
        ...(cursor !== undefined ? { cursor } : {}),
      });
      listed += page.items.length;
      yield* page.items;
      cursor = page.nextCursor;
      if (cursor !== undefined && listed >= max) {
        truncated = true;
        return;
      }
    } while (cursor !== undefined);
  }
  const decisions: ReplayedDecision[] = [];
  try {
    const replayed = inOrder(
      matching(),
      async (decision) =>
        pool.run({ decision, evidence: await loadEvidence(options.archive, decision.attestationDigests) }),
      pool.window,
    );
    for await (const d of replayed) decisions.push(d);
  } finally {
    await pool.close();
  }
  const notReplayable = decisions.filter((d) => d.notReplayable).length;
  const changed = decisions.filter((d) => d.changed).length;
  return {
    policy: { digest, origin: options.policy.origin },
    at: setup.at,
    total: decisions.length,
    changed,
    unchanged: decisions.length - changed - notReplayable,
    notReplayable,
    truncated,
    decisions,
  };
}

/** The verification pool's handler: replays one decision from its archived evidence. */
export function replayVerifier(setup: ReplaySetup): (item: ReplayItem) => ReplayedDecision {
  const { policy } = parsePolicy(setup.policy.text, setup.policy.origin, setup.trustMap);
  const context: ReplayContext = {
    trust: buildTrustMaterial(setup.trust),
    trustMap: setup.trustMap,
    at: setup.at,
    now: new Date(setup.now),
  };
  return ({ decision, evidence }) => replayOne(context, policy, decision, evidence);
}

interface ReplayContext {
  trust: TrustMaterial;
  trustMap: TrustMap;
  at: 'decided' | 'now';
  now: Date;
}

/** Replays one decision from its evidence: verification and evaluation only, nothing read or written. */
function replayOne(
  options: ReplayContext,
  policy: Policy,
  decision: DecisionRecord,
  loaded: Evidence,
): ReplayedDecision {
  const base = {
    decisionId: decision._id,
    artifact: decision.artifact,
    decidedAt: decision.decidedAt,
    status: decision.status,
    before: {
      outcome: decision.outcome,
      policyDigest: decision.policy.digest,
      failingCodes: decision.failingCodes,
    },
  };
  const notReplayable = (code: ErrorCode, reason: string): ReplayedDecision => ({
    ...base,
    changed: false,
    checkChanges: [],
    levels: [],
    notReplayable: { code, reason },
  });
  const pipeline = decision.checks.find((c) => c.id === 'pipeline' && c.result === 'FAIL');
  if (pipeline && decision.attestationDigests.length === 0)
    return notReplayable(
      pipeline.code ?? 'INPUT_INVALID',
      `the pipeline denied it before any policy was evaluated: ${pipeline.reason}`,
    );

  if ('problem' in loaded) return notReplayable('ARCHIVE_ERROR', loaded.problem);
  // An npm package is bound by its tarball's sha512 and name (docs/security-model.md#npm-packages),
  // and only the registry's keys vouch for its publish attestation: without either, the package
  // guard would fail for want of an input, not for anything the new policy says.
  const npmPackage = decision.artifact.package;
  if (decision.artifact.kind === 'npm-package') {
    if (npmPackage === undefined)
      return notReplayable(
        'ARCHIVE_ERROR',
        'the decision record keeps no npm package name, version and sha512 (archived before they were kept): its attestations cannot be bound to the tarball again',
      );
    if (options.trust.npmKeys.length === 0)
      return notReplayable(
        'CONFIG_INVALID',
        'no npm registry keys are configured (SLSA_GATE_NPM_KEYS, as for the worker): the npm publish attestation cannot be verified',
      );
  }

  const now = options.at === 'now' ? options.now : new Date(decision.decidedAt);
  const after = (() => {
    // As the workflow does: a policy that covers no rule for the artifact denies in the pipeline.
    let rule: PolicyRule;
    try {
      rule = selectRule(policy, decision.artifact.repository);
    } catch (err) {
      if (!isGateError(err)) throw err;
      return { checks: [pipelineFailure(err)], outcome: 'FAILED' as const, levels: [] };
    }
    // A file artifact's provenance names the file, not the manifest (docs/policy.md#files).
    const file = decision.artifact.file;
    const artifact: ArtifactRef = {
      digests: {
        sha256: (file?.digest ?? decision.artifact.digest).slice('sha256:'.length),
        ...(npmPackage ? { sha512: npmPackage.sha512 } : {}),
      },
      ...(file ? { file: { name: file.name } } : {}),
      ...(npmPackage ? { npmPackage: { name: npmPackage.name, version: npmPackage.version } } : {}),
      uri: decision.artifact.uri ?? `oci://${decision.artifact.repository}@${decision.artifact.digest}`,
    };
    let evaluation: Evaluation;
    let notes: LevelNote[] = [];
    // Where it went, when it went somewhere: the new rule judges that destination and tag again.
    const published = decision.published;
    try {
      ({ evaluation } = verifyAndEvaluate(
        {
          artifact,
          attestations: loaded.records.flatMap((r) => loadAttestations(r.bytes, r.origin)),
          trust: options.trust,
          trustMap: options.trustMap,
          now,
          ...(published
            ? {
                destination: {
                  repository: published.repository,
                  ...(published.tag ? { tag: published.tag } : {}),
                },
              }
            : {}),
          levels: (verified) => {
            const archived = archivedLevels(decision, verified, rule);
            notes = archived.notes;
            return archived.levels;
          },
        },
        rule,
      ));
    } catch (err) {
      if (!isGateError(err)) throw err;
      return { checks: [pipelineFailure(err)], outcome: 'FAILED' as const, levels: [] };
    }
    // The rollback check compares with what had been published to the release tag at the time
    // (activities/policy.ts, lastPublished); it does not depend on the policy, and the archive
    // of today would answer differently, so the original result is carried over.
    // A decision that published nothing does not record the destination its request named, and
    // the requester guard judged the requester's grants, which are not policy: their original
    // results are carried over (not re-judged).
    const withDestination = (checks: CheckResult[]) => {
      const carried = decision.checks.filter(
        (c) => (c.id === 'destination' || c.id === 'requester') && !checks.some((d) => d.id === c.id),
      );
      return [...checks, ...carried.map((c) => ({ ...c, evidence: c.evidence ?? [] }))];
    };
    const rollback = decision.checks.find((c) => c.id === 'rollback');
    if (rollback === undefined || evaluation.checks.some((c) => c.id === 'rollback')) {
      const checks = withDestination(evaluation.checks);
      return { checks, outcome: outcomeOf(checks, rule), levels: notes };
    }
    const carried: CheckResult = { ...rollback, evidence: rollback.evidence ?? [] };
    const at = evaluation.checks.findIndex((c) => c.id === 'vsa');
    const checks = withDestination(
      evaluation.provenance === undefined
        ? evaluation.checks
        : at < 0
          ? [...evaluation.checks, carried]
          : [...evaluation.checks.slice(0, at), carried, ...evaluation.checks.slice(at)],
    );
    return { checks, outcome: outcomeOf(checks, rule), levels: notes };
  })();

  const failingCodes = after.checks.flatMap((c) => (c.result === 'FAIL' && c.code ? [c.code] : []));
  return {
    ...base,
    after: { outcome: after.outcome, checks: after.checks, failingCodes },
    changed: after.outcome !== decision.outcome,
    checkChanges: compareChecks(decision.checks, after.checks),
    levels: after.levels,
  };
}

function pipelineFailure(err: GateError): CheckResult {
  return { id: 'pipeline', result: 'FAIL', code: err.code, reason: err.message, evidence: [] };
}

/** The archived raw bytes of each digest, re-hashed: missing or altered evidence is not replayed. */
async function loadEvidence(archive: Archive, digests: string[]): Promise<Evidence> {
  if (digests.length === 0) return { records: [] };
  let byId;
  try {
    byId = await archive.getAttestations(digests);
  } catch (err) {
    if (!isGateError(err) || err.code !== 'ARCHIVE_ERROR') throw err;
    return { problem: `attestation ${String(err.detail?.id)} does not match its schema` };
  }
  const records: Array<{ bytes: Buffer; origin: string }> = [];
  for (const digest of digests) {
    const record = byId.get(digest);
    if (!record) return { problem: `attestation ${digest} is not in the archive` };
    const bytes = Buffer.from(record.raw, 'base64');
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest)
      return { problem: `attestation ${digest}: the stored bytes no longer match their digest` };
    records.push({ bytes, origin: record.origin });
  }
  return { records };
}

/**
 * Source and dependency levels rebuilt from the original decision's checks. The source check
 * records the level of the decision's source revision when its rule asked for one; the
 * dependencies check records the lowest level among the dependencies when it passed without
 * an exception. Anything else was not archived and counts as level 0.
 */
export function archivedLevels(
  decision: DecisionRecord,
  verified: EvaluatedAttestation[],
  rule: PolicyRule,
): { levels: LevelEvidence; notes: LevelNote[] } {
  const levels: LevelEvidence = {};
  const notes: LevelNote[] = [];
  const own = new Set(decision.attestationDigests);

  const sourceCheck = decision.checks.find((c) => c.id === 'source');
  const src = decision.source;
  const sourceNeeded = (rule.source?.minLevel ?? 0) > 0;
  if (sourceCheck?.level !== undefined && src?.repo && src.commit && src.ref) {
    const evidence = (sourceCheck.evidence ?? []).filter((e) => !own.has(e));
    levels.sources = [
      {
        repo: src.repo,
        commit: src.commit,
        refs: [src.ref],
        level: sourceCheck.level,
        evidence,
        method: evidence.length > 0 ? 'vsa' : 'static',
      },
    ];
    notes.push({
      kind: 'source',
      status: 'archived',
      level: sourceCheck.level,
      needed: sourceNeeded,
      detail: `Source L${sourceCheck.level} of ${src.repo}@${src.commit.slice(0, 12)}, as the original source check recorded`,
    });
  } else {
    notes.push({
      kind: 'source',
      status: 'not-archived',
      needed: sourceNeeded,
      detail: 'the original decision recorded no source level (its rule asked for none); counted as L0',
    });
  }

  const depsCheck = decision.checks.find((c) => c.id === 'dependencies');
  const depsNeeded = (rule.dependencies?.minLevel ?? 0) > 0;
  const excepted = depsCheck?.evidence?.some((e) => e.startsWith('exception:')) ?? false;
  if (depsCheck?.result === 'PASS' && depsCheck.level !== undefined && !excepted) {
    const level = depsCheck.level;
    const dependencies = verified
      .filter((v) => isProvenancePredicateType(v.predicateType))
      .flatMap((v) => {
        try {
          return normaliseProvenance(v).provenance.resolvedDependencies;
        } catch {
          return [];
        }
      })
      .filter((d) => Object.keys(d.digest).length > 0)
      .map((d) => ({
        ...(d.uri !== undefined ? { uri: d.uri } : {}),
        digest: d.digest,
        level,
        evidence: [],
        method: 'archive' as const,
      }));
    levels.dependencies = dependencies;
    notes.push({
      kind: 'dependencies',
      status: 'lower-bound',
      level,
      needed: depsNeeded,
      detail: `every dependency at L${level} or above, as the original dependencies check recorded (its lowest level)`,
    });
  } else {
    notes.push({
      kind: 'dependencies',
      status: 'not-archived',
      needed: depsNeeded,
      detail: excepted
        ? 'the original dependencies check rested on an exception, so per-dependency levels were not archived; counted as L0'
        : 'the original decision recorded no dependency levels; counted as L0',
    });
  }
  return { levels, notes };
}

/** Checks whose result, code or level differ, in the order of the new evaluation. */
export function compareChecks(before: RecordedCheck[], after: CheckResult[]): CheckChange[] {
  const pick = (c: RecordedCheck | undefined) =>
    c === undefined
      ? undefined
      : {
          result: c.result,
          ...(c.code !== undefined ? { code: c.code } : {}),
          ...(c.level !== undefined ? { level: c.level } : {}),
          reason: c.reason,
        };
  const ids = [...new Set([...after.map((c) => c.id), ...before.map((c) => c.id)])];
  const changes: CheckChange[] = [];
  for (const id of ids) {
    const b = before.find((c) => c.id === id);
    const a = after.find((c) => c.id === id);
    if (b?.result === a?.result && b?.code === a?.code && b?.level === a?.level) continue;
    const change: CheckChange = { id };
    const pb = pick(b);
    const pa = pick(a);
    if (pb) change.before = pb;
    if (pa) change.after = pa;
    changes.push(change);
  }
  return changes;
}

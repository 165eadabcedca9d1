/**
 * Offline integrity check of the archive (`audit verify`): what was archived is what was
 * decided. Every stored document fits its schema, raw bytes still hash to their content
 * address, every decision's evidence and content digests still match what it records, and
 * the records around a decision still chain to it (its status events, its approvals, the VSA
 * it published). It reads the archive alone and never any trust material: whether archived
 * signatures verify under today's keys and roots is `audit reverify` (src/audit/reverify.ts),
 * whose differences are findings, not tampering (docs/audit.md#integrity-and-re-verification).
 */
import { isGateError } from '../core/errors.ts';
import { collectionsOf, decisionContentDigest, type Archive } from './archive.ts';
import { SCAN_LIMIT, toRecord, type CollectionName } from './collections.ts';
import type { DecisionRecord } from './decision-record.ts';
import { computeEvidenceDigest, sha256Digest } from './digest.ts';
import type { EventRecord } from './event-record.ts';
import { transitionRefusal, type DecisionStatus } from './lifecycle.ts';

/**
 * Documents the driver fetches per round trip of a full scan, and decisions whose chained
 * records are read per round trip: the most archived documents a scan holds at once.
 */
export const SCAN_BATCH_SIZE = 100;

/** Why a stored document counts as tampered: the coded reason of each problem (docs/audit.md#integrity-and-re-verification). */
export const TAMPER_REASONS = [
  /** The document does not fit its schema. */
  'SCHEMA_MISMATCH',
  /** Raw bytes (or a policy text) do not hash to the digest that addresses them. */
  'CONTENT_ADDRESS_MISMATCH',
  /** A stored size does not match the raw bytes. */
  'SIZE_MISMATCH',
  /** A document's `_id` does not match the fields it is derived from. */
  'RECORD_ID_MISMATCH',
  /** A decision's evidence digest does not match its attestation and policy digests. */
  'EVIDENCE_DIGEST_MISMATCH',
  /** A decision's content digest does not match its immutable fields. */
  'CONTENT_DIGEST_MISMATCH',
  /** A decision's denormalised fields (failing codes, failing checks) or outcome contradict its checks. */
  'DECISION_INCONSISTENT',
  /** The policy layer's digest of an archived policy text does not match. */
  'POLICY_DIGEST_MISMATCH',
  /** A record a decision names (evidence, policy, event, approval, issued VSA) is not archived. */
  'RECORD_MISSING',
  /** A decision's status events do not chain from its creation to its status by legal moves. */
  'CHAIN_BROKEN',
] as const;
export type TamperReason = (typeof TAMPER_REASONS)[number];

/** A stored document that failed a check. */
export interface IntegrityProblem {
  collection: CollectionName;
  id: string;
  reason: TamperReason;
  problem: string;
}

/** What `verifyIntegrity` checked and what it found. */
export interface IntegrityReport {
  checked: Record<'decisions' | 'attestations' | 'vsas' | 'policies' | 'events' | 'approvals', number>;
  problems: IntegrityProblem[];
}

/**
 * Checks the whole archive, or with `ref` (a decision id) one decision and the evidence,
 * VSAs, policy, events and approvals it names. Tampered documents are reported by id, never thrown.
 */
export async function verifyIntegrity(
  archive: Archive,
  options: {
    ref?: string;
    /** Recomputes the policy layer's digest of a policy text; returns a problem, or undefined when it matches. */
    verifyPolicyDigest?: (text: string, digest: string) => Promise<string | undefined>;
  } = {},
): Promise<IntegrityReport> {
  const collections = collectionsOf(archive);
  const problems: IntegrityProblem[] = [];
  const checked = { decisions: 0, attestations: 0, vsas: 0, policies: 0, events: 0, approvals: 0 };
  const report = (collection: CollectionName, id: unknown, reason: TamperReason, text: string) =>
    problems.push(problem(collection, id, reason, text));
  const read = <N extends CollectionName>(collection: N, doc: { _id: unknown }) =>
    readInto(problems, collection, doc);
  const scoped = options.ref !== undefined;
  const scan = { ...SCAN_LIMIT, batchSize: SCAN_BATCH_SIZE };

  const decisionQuery = scoped ? { _id: options.ref } : {};
  const attestationIds = new Set<string>();
  const policyIds = new Set<string>();
  let batch: DecisionRecord[] = [];
  const checkChains = async () => {
    const found = await chainProblems(archive, batch);
    checked.events += found.events;
    checked.approvals += found.approvals;
    problems.push(...found.problems);
    batch = [];
  };
  for await (const doc of collections.decisions.find(decisionQuery, scan)) {
    checked.decisions++;
    const decision = read('decisions', doc);
    if (!decision) continue;
    for (const d of decision.attestationDigests) attestationIds.add(d);
    policyIds.add(decision.policy.digest);
    for (const [reason, text] of decisionProblems(decision)) report('decisions', decision._id, reason, text);
    batch.push(decision);
    if (batch.length >= SCAN_BATCH_SIZE) await checkChains();
  }
  await checkChains();

  const attestationQuery = scoped ? { _id: { $in: [...attestationIds] } } : {};
  const seen = new Set<string>();
  for await (const doc of collections.attestations.find(attestationQuery, scan)) {
    checked.attestations++;
    seen.add(doc._id);
    const att = read('attestations', doc);
    if (!att) continue;
    const raw = Buffer.from(att.raw, 'base64');
    if (sha256Digest(raw) !== att._id)
      report('attestations', att._id, 'CONTENT_ADDRESS_MISMATCH', 'raw bytes do not hash to the document id');
    if (raw.length !== att.size)
      report('attestations', att._id, 'SIZE_MISMATCH', 'size does not match the raw bytes');
  }
  // Evidence a decision names must still be there (deleting it is tampering too).
  for (const d of attestationIds)
    if (!seen.has(d)) report('attestations', d, 'RECORD_MISSING', 'named by a decision but not archived');

  for await (const doc of collections.vsas.find(scoped ? { decisionId: options.ref } : {}, scan)) {
    checked.vsas++;
    const vsa = read('vsas', doc);
    if (!vsa) continue;
    const raw = Buffer.from(vsa.raw, 'base64');
    if (sha256Digest(raw) !== vsa.digest)
      report('vsas', vsa._id, 'CONTENT_ADDRESS_MISMATCH', 'raw bytes do not hash to the recorded digest');
    if (vsa._id !== `${vsa.decisionId}|${vsa.direction}|${vsa.digest}`)
      report('vsas', vsa._id, 'RECORD_ID_MISMATCH', 'id does not match decision, direction and digest');
  }

  const policyQuery = scoped ? { digest: { $in: [...policyIds] } } : {};
  const policiesSeen = new Set<string>();
  for await (const doc of collections.policies.find(policyQuery, SCAN_LIMIT)) {
    checked.policies++;
    const policy = read('policies', doc);
    if (!policy) continue;
    policiesSeen.add(policy.digest);
    if (
      sha256Digest(policy.text) !== policy.textDigest ||
      policy._id !== `${policy.digest}|${policy.textDigest}`
    )
      report(
        'policies',
        policy._id,
        'CONTENT_ADDRESS_MISMATCH',
        'text does not hash to the recorded text digest',
      );
    const bad = await options.verifyPolicyDigest?.(policy.text, policy.digest);
    if (bad) report('policies', policy._id, 'POLICY_DIGEST_MISMATCH', bad);
  }
  for (const d of policyIds)
    if (!policiesSeen.has(d)) report('policies', d, 'RECORD_MISSING', 'named by a decision but not archived');

  // The rest of the trail around decisions must at least still fit its schemas.
  if (!scoped) {
    for (const collection of ['approvals', 'exceptions', 'events', 'sightings'] as const) {
      for await (const doc of collectionsOf(archive)[collection].find({}, scan)) read(collection, doc);
    }
  }
  return { checked, problems };
}

function problem(
  collection: CollectionName,
  id: unknown,
  reason: TamperReason,
  text: string,
): IntegrityProblem {
  return { collection, id: String(id), reason, problem: text };
}

/** The document as its record, or undefined with a problem added to `found` when it does not fit its schema. */
function readInto<N extends CollectionName>(found: IntegrityProblem[], collection: N, doc: { _id: unknown }) {
  try {
    return toRecord(collection, doc);
  } catch (err) {
    if (!isGateError(err)) throw err;
    found.push(problem(collection, doc._id, 'SCHEMA_MISMATCH', 'does not match its schema'));
    return undefined;
  }
}

function decisionProblems(decision: DecisionRecord): Array<[TamperReason, string]> {
  const problems: Array<[TamperReason, string]> = [];
  if (computeEvidenceDigest(decision.attestationDigests, decision.policy.digest) !== decision.evidenceDigest)
    problems.push([
      'EVIDENCE_DIGEST_MISMATCH',
      'evidence digest does not match the attestation and policy digests',
    ]);
  if (decisionContentDigest(decision) !== decision.contentDigest)
    problems.push(['CONTENT_DIGEST_MISMATCH', 'content digest does not match the record']);
  const failing = [
    ...new Set(decision.checks.filter((c) => c.result === 'FAIL').map((c) => c.code ?? 'UNSPECIFIED')),
  ];
  if (failing.join() !== decision.failingCodes.join())
    problems.push(['DECISION_INCONSISTENT', 'failing codes do not match the checks']);
  const failingChecks = [...new Set(decision.checks.filter((c) => c.result === 'FAIL').map((c) => c.id))];
  if (failingChecks.join() !== decision.failingChecks.join())
    problems.push(['DECISION_INCONSISTENT', 'failing checks do not match the checks']);
  if (decision.outcome === 'PASSED' && failing.length > 0)
    problems.push(['DECISION_INCONSISTENT', 'PASSED with failing checks']);
  return problems;
}

/**
 * The records chained to a batch of decisions, read in one round trip per collection: each
 * decision's status events, its approval list and approvals, and the VSA it says it published.
 */
async function chainProblems(
  archive: Archive,
  decisions: DecisionRecord[],
): Promise<{ problems: IntegrityProblem[]; events: number; approvals: number }> {
  const found: IntegrityProblem[] = [];
  if (decisions.length === 0) return { problems: found, events: 0, approvals: 0 };
  const collections = collectionsOf(archive);
  const ids = decisions.map((d) => d._id);
  const eventsOf = new Map<string, EventRecord[]>();
  let events = 0;
  for await (const doc of collections.events.find({ decisionId: { $in: ids } }, SCAN_LIMIT)) {
    events++;
    const event = readInto(found, 'events', doc);
    if (!event) continue;
    eventsOf.set(event.decisionId, [...(eventsOf.get(event.decisionId) ?? []), event]);
  }
  const approvalListOf = new Map<string, string[]>();
  for await (const doc of collections.approvalSets.find({ _id: { $in: ids } }, SCAN_LIMIT)) {
    const set = readInto(found, 'approvalSets', doc);
    if (set) approvalListOf.set(set._id, set.approvals);
  }
  const approvalIds = [...approvalListOf.values()].flat();
  const approvalsById = new Map<string, { decisionId: string; approver: string; verdict: string }>();
  for await (const doc of collections.approvals.find({ _id: { $in: approvalIds } }, SCAN_LIMIT)) {
    const approval = readInto(found, 'approvals', doc);
    if (approval) approvalsById.set(approval._id, approval);
  }
  const issuedVsaIds = decisions.flatMap((d) =>
    d.published?.vsaDigest === undefined ? [] : [`${d._id}|issued|${d.published.vsaDigest}`],
  );
  // The subjects each issued VSA's signed statement names, by VSA id.
  const vsaSubjectsOf = new Map<string, string[]>();
  for await (const doc of collections.vsas.find({ _id: { $in: issuedVsaIds } }, SCAN_LIMIT)) {
    let raw: string;
    try {
      raw = toRecord('vsas', doc).raw;
    } catch (err) {
      // Reported as SCHEMA_MISMATCH by the scan of the VSAs.
      if (!isGateError(err)) throw err;
      raw = '';
    }
    vsaSubjectsOf.set(String(doc._id), statementSubjects(raw));
  }

  for (const decision of decisions) {
    const approvals: Array<{ verdict: string }> = [];
    for (const id of approvalListOf.get(decision._id) ?? []) {
      const approval = approvalsById.get(id);
      if (approval === undefined) {
        found.push(
          problem('approvals', id, 'RECORD_MISSING', `named by decision ${decision._id} but not archived`),
        );
        continue;
      }
      if (approval.decisionId !== decision._id || id !== `${approval.decisionId}|${approval.approver}`)
        found.push(problem('approvals', id, 'RECORD_ID_MISMATCH', 'id does not match decision and approver'));
      else approvals.push(approval);
    }
    found.push(...eventChainProblems(decision, eventsOf.get(decision._id) ?? [], approvals));
    const vsaId =
      decision.published?.vsaDigest === undefined
        ? undefined
        : `${decision._id}|issued|${decision.published.vsaDigest}`;
    const subjects = vsaId === undefined ? undefined : vsaSubjectsOf.get(vsaId);
    if (vsaId !== undefined && subjects === undefined)
      found.push(
        problem('vsas', vsaId, 'RECORD_MISSING', `published by decision ${decision._id} but not archived`),
      );
    // `published` is lifecycle, outside the content digest: the VSA it names must at least be
    // one the gate signed for this decision's artifact, not another release's moved over.
    else if (vsaId !== undefined && !subjects?.includes(decision.artifact.digest))
      found.push(
        problem(
          'vsas',
          vsaId,
          'CHAIN_BROKEN',
          `published by decision ${decision._id} but its statement's subject is not ${decision.artifact.digest}`,
        ),
      );
  }
  return { problems: found, events, approvals: approvalsById.size };
}

/**
 * The subject digests (`alg:hex`) of the in-toto statement inside an issued VSA's bundle (or
 * DSSE envelope), read without checking the signature: that is `audit reverify`'s question.
 * None when the bytes are no such statement.
 */
function statementSubjects(rawBase64: string): string[] {
  try {
    const json = JSON.parse(Buffer.from(rawBase64, 'base64').toString('utf8')) as {
      dsseEnvelope?: { payload?: unknown };
      payload?: unknown;
    };
    const payload = json.dsseEnvelope?.payload ?? json.payload;
    if (typeof payload !== 'string') return [];
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as {
      subject?: Array<{ digest?: Record<string, unknown> }>;
    };
    return (statement.subject ?? []).flatMap((s) =>
      Object.entries(s.digest ?? {}).map(([alg, hex]) => `${alg}:${String(hex)}`),
    );
  } catch {
    return [];
  }
}

/**
 * A decision's events must lead from its creation (`decided`) to its status, one legal move
 * (src/archive/lifecycle.ts) per status left, with nothing besides; a move to `approved`
 * needs an approving verdict and no rejection, as when it was made. One event from the
 * current status is allowed: the archive takes a move's event before it updates the status
 * (src/archive/archive.ts `move`), so a move cut short leaves exactly that.
 */
function eventChainProblems(
  decision: DecisionRecord,
  events: EventRecord[],
  approvals: Array<{ verdict: string }>,
): IntegrityProblem[] {
  const found: IntegrityProblem[] = [];
  const eventId = (from: DecisionStatus | null) =>
    from === null ? `${decision._id}|created` : `${decision._id}|from:${from}`;
  const leaving = new Map<DecisionStatus | null, EventRecord>();
  for (const event of events) {
    if (event._id !== eventId(event.from)) {
      found.push(
        problem('events', event._id, 'RECORD_ID_MISMATCH', 'id does not match decision and status left'),
      );
      continue;
    }
    leaving.set(event.from, event);
  }
  const created = leaving.get(null);
  leaving.delete(null);
  if (created === undefined || created.to !== 'decided') {
    found.push(
      problem(
        'events',
        eventId(null),
        created === undefined ? 'RECORD_MISSING' : 'CHAIN_BROKEN',
        `decision ${decision._id} has no creation event into decided`,
      ),
    );
    return found;
  }
  let approved = false;
  let current: DecisionStatus = 'decided';
  const step = (event: EventRecord): boolean => {
    const refusal = transitionRefusal(decision.outcome, current, event.to);
    if (refusal !== undefined) {
      found.push(problem('events', event._id, 'CHAIN_BROKEN', `not a legal move: ${refusal}`));
      return false;
    }
    if (event.to === 'approved') approved = true;
    return true;
  };
  while (current !== decision.status) {
    const event = leaving.get(current);
    if (event === undefined) {
      found.push(
        problem(
          'events',
          eventId(current),
          'RECORD_MISSING',
          `decision ${decision._id} is ${decision.status} but no event records it leaving ${current}`,
        ),
      );
      return found;
    }
    leaving.delete(current);
    if (!step(event)) return found;
    current = event.to;
  }
  const inProgress = leaving.get(current);
  if (inProgress !== undefined) {
    leaving.delete(current);
    step(inProgress);
  }
  for (const stray of leaving.values())
    found.push(problem('events', stray._id, 'CHAIN_BROKEN', `not on the chain of decision ${decision._id}`));
  if (
    approved &&
    (!approvals.some((a) => a.verdict === 'approve') || approvals.some((a) => a.verdict === 'reject'))
  )
    found.push(
      problem(
        'decisions',
        decision._id,
        'CHAIN_BROKEN',
        'moved to approved without an approving verdict (or with a rejection) archived',
      ),
    );
  return found;
}

/**
 * Offline integrity check of the archive: every stored document fits its schema, raw bytes
 * still hash to their content address, and every decision's evidence and content digests
 * still match what it records. Signature re-verification plugs in through `verifySignature`.
 */
import { isGateError, type ErrorCode } from '../core/errors.ts';
import { collectionsOf, decisionContentDigest, type Archive } from './archive.ts';
import { inOrder } from '../audit/verify-pool.ts';
import { SCAN_LIMIT, toRecord, type CollectionName } from './collections.ts';
import type { DecisionRecord } from './decision-record.ts';
import { computeEvidenceDigest, sha256Digest } from './digest.ts';

/**
 * Documents the driver fetches per round trip of a full scan: with the pool's window, the most
 * archived documents a scan holds at once, whatever the size of the archive.
 */
export const SCAN_BATCH_SIZE = 100;

/** A stored document that failed a check. */
export interface IntegrityProblem {
  collection: CollectionName;
  id: string;
  problem: string;
  /** The error code, where the check that failed raised one (a signature re-verification). */
  code?: ErrorCode;
}

/** Re-verifies the signature over archived raw bytes; returns the coded problem, or undefined when it verifies. */
export type SignatureCheck = (item: {
  collection: 'attestations' | 'vsas';
  id: string;
  raw: Uint8Array;
}) => Promise<{ code?: ErrorCode; message: string } | undefined>;

/** What `verifyIntegrity` checked and what it found. */
export interface IntegrityReport {
  checked: Record<'decisions' | 'attestations' | 'vsas' | 'policies', number>;
  problems: IntegrityProblem[];
}

/**
 * Checks the whole archive, or with `ref` (a decision id) one decision and the evidence,
 * VSAs and policy it names. Tampered documents are reported by id, never thrown.
 */
export async function verifyIntegrity(
  archive: Archive,
  options: {
    ref?: string;
    verifySignature?: SignatureCheck;
    /** Signature checks in hand at once (the verification pool's window); default 1, one after the other. */
    window?: number;
    /** Recomputes the policy layer's digest of a policy text; returns a problem, or undefined when it matches. */
    verifyPolicyDigest?: (text: string, digest: string) => Promise<string | undefined>;
  } = {},
): Promise<IntegrityReport> {
  const collections = collectionsOf(archive);
  const problems: IntegrityProblem[] = [];
  const checked = { decisions: 0, attestations: 0, vsas: 0, policies: 0 };
  const report = (collection: CollectionName, id: unknown, text: string) =>
    problems.push(problem(collection, id, text));
  const read = <N extends CollectionName>(collection: N, doc: { _id: unknown }) =>
    readInto(problems, collection, doc);

  const decisionQuery = options.ref === undefined ? {} : { _id: options.ref };
  const attestationIds = new Set<string>();
  const policyIds = new Set<string>();
  for await (const doc of collections.decisions.find(decisionQuery, SCAN_LIMIT)) {
    checked.decisions++;
    const decision = read('decisions', doc);
    if (!decision) continue;
    for (const d of decision.attestationDigests) attestationIds.add(d);
    policyIds.add(decision.policy.digest);
    for (const problem of decisionProblems(decision)) report('decisions', decision._id, problem);
  }

  const scoped = options.ref !== undefined;
  // Signature checks run `window` at a time (on the verification pool's threads); each
  // document's problems are reported in scan order all the same, so the report is the serial one.
  const window = options.window ?? 1;
  const scan = { ...SCAN_LIMIT, batchSize: SCAN_BATCH_SIZE };
  const attestationQuery = scoped ? { _id: { $in: [...attestationIds] } } : {};
  const seen = new Set<string>();
  const attestationProblems = inOrder(
    collections.attestations.find(attestationQuery, scan),
    async (doc): Promise<IntegrityProblem[]> => {
      checked.attestations++;
      seen.add(doc._id);
      const found: IntegrityProblem[] = [];
      const att = readInto(found, 'attestations', doc);
      if (!att) return found;
      const raw = Buffer.from(att.raw, 'base64');
      if (sha256Digest(raw) !== att._id)
        found.push(problem('attestations', att._id, 'raw bytes do not hash to the document id'));
      if (raw.length !== att.size)
        found.push(problem('attestations', att._id, 'size does not match the raw bytes'));
      const bad = await options.verifySignature?.({ collection: 'attestations', id: att._id, raw });
      if (bad) found.push(problem('attestations', att._id, bad.message, bad.code));
      return found;
    },
    window,
  );
  for await (const found of attestationProblems) problems.push(...found);
  // Evidence a decision names must still be there (deleting it is tampering too).
  for (const d of attestationIds)
    if (!seen.has(d)) report('attestations', d, 'named by a decision but not archived');

  const vsaProblems = inOrder(
    collections.vsas.find(scoped ? { decisionId: options.ref } : {}, scan),
    async (doc): Promise<IntegrityProblem[]> => {
      checked.vsas++;
      const found: IntegrityProblem[] = [];
      const vsa = readInto(found, 'vsas', doc);
      if (!vsa) return found;
      const raw = Buffer.from(vsa.raw, 'base64');
      if (sha256Digest(raw) !== vsa.digest)
        found.push(problem('vsas', vsa._id, 'raw bytes do not hash to the recorded digest'));
      if (vsa._id !== `${vsa.decisionId}|${vsa.direction}|${vsa.digest}`)
        found.push(problem('vsas', vsa._id, 'id does not match decision, direction and digest'));
      const bad = await options.verifySignature?.({ collection: 'vsas', id: vsa._id, raw });
      if (bad) found.push(problem('vsas', vsa._id, bad.message, bad.code));
      return found;
    },
    window,
  );
  for await (const found of vsaProblems) problems.push(...found);

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
      report('policies', policy._id, 'text does not hash to the recorded text digest');
    const bad = await options.verifyPolicyDigest?.(policy.text, policy.digest);
    if (bad) report('policies', policy._id, bad);
  }
  for (const d of policyIds)
    if (!policiesSeen.has(d)) report('policies', d, 'named by a decision but not archived');

  // The trail around decisions must at least still fit its schemas.
  if (!scoped) {
    for (const collection of ['approvals', 'exceptions', 'events', 'sightings'] as const) {
      for await (const doc of collectionsOf(archive)[collection].find({}, SCAN_LIMIT)) read(collection, doc);
    }
  }
  return { checked, problems };
}

function problem(collection: CollectionName, id: unknown, text: string, code?: ErrorCode): IntegrityProblem {
  return { collection, id: String(id), problem: text, ...(code === undefined ? {} : { code }) };
}

/** The document as its record, or undefined with a problem added to `found` when it does not fit its schema. */
function readInto<N extends CollectionName>(found: IntegrityProblem[], collection: N, doc: { _id: unknown }) {
  try {
    return toRecord(collection, doc);
  } catch (err) {
    if (!isGateError(err)) throw err;
    found.push(problem(collection, doc._id, 'does not match its schema'));
    return undefined;
  }
}

function decisionProblems(decision: DecisionRecord): string[] {
  const problems: string[] = [];
  if (computeEvidenceDigest(decision.attestationDigests, decision.policy.digest) !== decision.evidenceDigest)
    problems.push('evidence digest does not match the attestation and policy digests');
  if (decisionContentDigest(decision) !== decision.contentDigest)
    problems.push('content digest does not match the record');
  const failing = [
    ...new Set(decision.checks.filter((c) => c.result === 'FAIL').map((c) => c.code ?? 'UNSPECIFIED')),
  ];
  if (failing.join() !== decision.failingCodes.join()) problems.push('failing codes do not match the checks');
  const failingChecks = [...new Set(decision.checks.filter((c) => c.result === 'FAIL').map((c) => c.id))];
  if (failingChecks.join() !== decision.failingChecks.join())
    problems.push('failing checks do not match the checks');
  if (decision.outcome === 'PASSED' && failing.length > 0) problems.push('PASSED with failing checks');
  return problems;
}

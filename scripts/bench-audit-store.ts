/**
 * `npm run bench:audit:store [-- --n 100000 --runs 10 --keep]`: loads N generated decisions into a
 * fresh archive database, then measures the p50/p95 latency of the auditors' named queries
 * (scripts/audit-bench-queries.ts, the list `bench:audit` runs over the read model).
 * The last line gives every figure. Store: --mongodb-uri or MONGODB_URI; the database is
 * dropped at the end unless --keep.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  type Archive,
  buildDecisionRecord,
  collectionsOf,
  databaseOf,
  openArchive,
} from '../src/archive/archive.ts';
import { toDoc } from '../src/archive/collections.ts';
import type { DecisionInput } from '../src/archive/decision-record.ts';
import { sha256Digest } from '../src/archive/digest.ts';
import { decisionStats, listDecisions, showDecision } from '../src/archive/queries.ts';
import type { ErrorCode } from '../src/core/errors.ts';
import {
  auditBenchQueries,
  figuresLine,
  measureQueries,
  type AuditQueryTarget,
} from './audit-bench-queries.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
    'mongodb-uri': { type: 'string' },
    db: { type: 'string' },
  },
});
const n = Number(values.n);
const runs = Number(values.runs);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: bench-audit [--n N] [--runs R] [--keep] [--mongodb-uri URI] [--db NAME]');
  process.exit(2);
}
const uri = values['mongodb-uri'] ?? process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const dbName = values.db ?? `bench_audit_${process.pid}_${Date.now().toString(36)}`;

// A seeded generator: every run loads the same archive.
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const builders = Array.from({ length: 20 }, (_, i) => `https://builders.example/b${i}`);
const versions = ['v1.0', 'v1.1', 'v1.2', 'v2.0', 'v2.1'];
const repositories = Array.from({ length: 50 }, (_, i) => `registry.example/release/app${i}`);
const sourceRepos = Array.from({ length: 500 }, (_, i) => `git+https://github.com/acme/repo${i}`);
const policies = Array.from({ length: 10 }, (_, i) => sha256Digest(`policy ${i}`));
const approvers = Array.from({ length: 10 }, (_, i) => `approver${i}@acme.example`);
const failures: Array<[DecisionInput['checks'][number]['id'], ErrorCode]> = [
  ['builder', 'BUILDER_UNTRUSTED'],
  ['build-level', 'BUILD_LEVEL_INSUFFICIENT'],
  ['source', 'SOURCE_MISMATCH'],
  ['dependencies', 'DEP_LEVEL_INSUFFICIENT'],
  ['identity', 'IDENTITY_MISMATCH'],
];
const start = Date.parse('2026-01-01T00:00:00Z');
const span = 90 * 24 * 3600 * 1000;

function generate(i: number): DecisionInput {
  const roll = random();
  const outcome = roll < 0.8 ? 'PASSED' : roll < 0.95 ? 'FAILED' : 'NEEDS_APPROVAL';
  const artifact = sha256Digest(`artifact ${i % Math.ceil(n / 2)}`); // some artifacts are decided twice
  const attestation = sha256Digest(`attestation ${i}`);
  const checks: DecisionInput['checks'] = [
    { id: 'subject', result: 'PASS', reason: 'artifact is a subject', evidence: [attestation] },
  ];
  if (outcome === 'FAILED') {
    const [id, code] = pick(failures);
    checks.push({ id, result: 'FAIL', code, reason: `generated ${code}` });
  } else checks.push({ id: 'builder', result: 'PASS', reason: 'trusted builder', level: 3 });
  return {
    decisionId: `bench-${i}/run-1`,
    workflowId: `bench-${i}`,
    runId: 'run-1',
    artifact: { repository: pick(repositories), tag: `v${i % 100}`, digest: artifact },
    requester: 'ci@acme.example',
    checks,
    outcome,
    policy: { digest: pick(policies) },
    builder: { id: pick(builders), version: pick(versions) },
    source: { repo: pick(sourceRepos), commit: sha256Digest(`commit ${i}`).slice(7, 47) },
    attestationDigests: [attestation],
    exceptions: [],
    decidedAt: new Date(start + Math.floor(random() * span)).toISOString(),
    timings: { verify: Math.floor(random() * 100) },
  };
}

async function load(archive: Archive): Promise<number> {
  const began = performance.now();
  const batchSize = 1000;
  for (let offset = 0; offset < n; offset += batchSize) {
    const decisions = [];
    const approvals = [];
    for (let i = offset; i < Math.min(n, offset + batchSize); i++) {
      const { record } = buildDecisionRecord(generate(i));
      if (record.outcome === 'NEEDS_APPROVAL') {
        const approver = pick(approvers);
        const verdict = random() < 0.8 ? 'approve' : 'reject';
        record.status = verdict === 'approve' ? 'approved' : 'rejected';
        approvals.push(
          toDoc('approvals', {
            _id: `${record._id}|${approver}`,
            schemaVersion: 1,
            decisionId: record._id,
            approver,
            verdict,
            reason: 'generated',
            at: record.decidedAt,
          }),
        );
      }
      decisions.push(toDoc('decisions', record));
    }
    await collectionsOf(archive).decisions.insertMany(decisions, { ordered: false });
    if (approvals.length > 0)
      await collectionsOf(archive).approvals.insertMany(approvals, { ordered: false });
    if ((offset / batchSize) % 10 === 9) console.error(`loaded ${offset + batchSize}`);
  }
  return (performance.now() - began) / 1000;
}

const archive = await openArchive(uri, dbName);
// An interrupted run still removes its database.
process.once('SIGINT', () => {
  void (values.keep ? Promise.resolve() : databaseOf(archive).dropDatabase()).finally(() =>
    process.exit(130),
  );
});
try {
  const info = await databaseOf(archive).admin().command({ buildInfo: 1 });
  const store =
    'ferretdbVersion' in info ? `FerretDB (wire ${String(info.version)})` : `MongoDB ${String(info.version)}`;
  console.log(`bench:audit: loading ${n} decisions into ${dbName} on ${store}`);
  const loadSeconds = await load(archive);
  console.log(`loaded ${n} decisions in ${loadSeconds.toFixed(1)} s (${Math.round(n / loadSeconds)}/s)`);

  const target: AuditQueryTarget = {
    list: (filters, limit) => listDecisions(archive, filters, { limit }),
    async nextPage(filters, limit) {
      const { nextCursor } = await listDecisions(archive, filters, { limit });
      return () => listDecisions(archive, filters, { limit, cursor: nextCursor });
    },
    show: (id) => showDecision(archive, id),
    stats: (filters) => decisionStats(archive, filters),
  };
  const results = await measureQueries(
    auditBenchQueries({
      n,
      decisionId: (i) => `bench-${i}/run-1`,
      artifactDigest: (i) => sha256Digest(`artifact ${i % Math.ceil(n / 2)}`),
      builders,
      sourceRepos,
      approvers,
      failingCodes: failures.map(([, code]) => code),
      policies,
      start,
    }),
    target,
    runs,
  );
  console.log(
    `bench:audit store="${store}" n=${n} runs=${runs} load=${Math.round(n / loadSeconds)}/s ` +
      figuresLine(results),
  );
} finally {
  if (!values.keep) await databaseOf(archive).dropDatabase();
  await archive.close();
}

/**
 * The auditors' queries both audit benches measure, by name: `bench:audit` over the read
 * model and `bench:audit:store` over the store run this one list, so their mixes are the
 * same queries with the same arguments (docs/benchmarks.md).
 */
import { performance } from 'node:perf_hooks';
import type { AuditFilters } from '../src/archive/audit-filters.ts';
import type { ImpactQuery } from '../src/audit/read-model/impact.ts';

/** What a bench's generated archive holds: the values the queries pick from. */
export interface GeneratedVocabulary {
  /** Decisions generated. */
  n: number;
  /** The id of decision i. */
  decisionId: (i: number) => string;
  /** The artifact digest of decision i. */
  artifactDigest: (i: number) => string;
  builders: readonly string[];
  sourceRepos: readonly string[];
  approvers: readonly string[];
  failingCodes: readonly string[];
  policies: readonly string[];
  /** The first decision's time (ms); decisions spread over the following 90 days. */
  start: number;
  /** A dependency one release in a hundred recorded, when the generator makes one. */
  sharedDependency?: string;
  /** Signing identities of the attestations, when the generator records them. */
  signers?: readonly string[];
}

/** Where the queries run: the read model or the store. */
export interface AuditQueryTarget {
  list(filters: AuditFilters, limit: number): Promise<unknown>;
  /** Reads the first page of `filters`, and returns the read of the page after it. */
  nextPage(filters: AuditFilters, limit: number): Promise<() => Promise<unknown>>;
  show(decisionId: string): Promise<unknown>;
  stats(filters: AuditFilters): Promise<unknown>;
  /** Impact analysis; absent where the target has none (the store). */
  impact?: (query: ImpactQuery) => Promise<unknown>;
}

/** One named query: given a target, the call to time on run `run` (undefined: the target cannot answer it). */
export interface NamedQuery {
  name: string;
  prepare(target: AuditQueryTarget): Promise<((run: number) => Promise<unknown>) | undefined>;
}

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 50;

/** The named queries over an archive generated with `v`. */
export function auditBenchQueries(v: GeneratedVocabulary): NamedQuery[] {
  const some = (run: number) => Math.abs(run * 7919) % v.n;
  const at = <T>(items: readonly T[], run: number, step = 1) => items[Math.abs(run * step) % items.length]!;
  const list = (name: string, filters: (run: number) => AuditFilters): NamedQuery => ({
    name,
    prepare: async (t) => (run) => t.list(filters(run), PAGE),
  });
  const impact = (name: string, query: (run: number) => ImpactQuery | undefined): NamedQuery => ({
    name,
    prepare: async (t) => {
      const analyse = t.impact;
      if (analyse === undefined || query(0) === undefined) return undefined;
      return (run) => analyse(query(run)!);
    },
  });
  const oneDay = (run: number): AuditFilters => {
    const day = v.start + (Math.abs(run) % 90) * DAY_MS;
    return { since: new Date(day).toISOString(), until: new Date(day + DAY_MS).toISOString() };
  };
  const oneWeek = (run: number): AuditFilters => {
    const from = v.start + (Math.abs(run) % 80) * DAY_MS;
    return { since: new Date(from).toISOString(), until: new Date(from + 7 * DAY_MS).toISOString() };
  };
  return [
    list('list-newest', () => ({})),
    { name: 'list-next-page', prepare: async (t) => t.nextPage({}, PAGE) },
    {
      name: 'list-next-page-by-approver',
      prepare: async (t) => t.nextPage({ approver: at(v.approvers, 0) }, PAGE),
    },
    list('list-by-digest', (run) => ({ artifactDigest: v.artifactDigest(some(run)) })),
    list('list-by-outcome', (run) => ({ outcome: at(['FAILED', 'NEEDS_APPROVAL', 'PASSED'] as const, run) })),
    list('list-by-builder-version', (run) => ({ builderId: at(v.builders, run), builderVersion: 'v1.2' })),
    list('list-by-source-repo', (run) => ({ sourceRepo: at(v.sourceRepos, run) })),
    list('list-by-failing-code', (run) => ({ failingCode: at(v.failingCodes, run) as never })),
    list('list-by-approver', (run) => ({ approver: at(v.approvers, run) })),
    list('list-failed-by-builder', (run) => ({ outcome: 'FAILED', builderId: at(v.builders, run) })),
    list('list-one-day', oneDay),
    list('list-one-week-by-source', (run) => ({ ...oneWeek(run), sourceRepo: at(v.sourceRepos, run) })),
    { name: 'show', prepare: async (t) => (run) => t.show(v.decisionId(some(run))) },
    { name: 'stats-one-week', prepare: async (t) => (run) => t.stats(oneWeek(run)) },
    { name: 'stats-all', prepare: async (t) => () => t.stats({}) },
    // The dependency one decision in a hundred records (the 1 % case).
    impact('impact-dependency-1%', () =>
      v.sharedDependency === undefined ? undefined : { dependency: v.sharedDependency },
    ),
    impact('impact-builder-version', (run) => ({ builder: `${at(v.builders, run)}@v1.2` })),
    impact('impact-source', (run) => ({
      source: at(v.sourceRepos, run).replace(/^git\+https:\/\//, ''),
    })),
    impact('impact-signer', (run) => (v.signers === undefined ? undefined : { signer: at(v.signers, run) })),
    impact('impact-policy', (run) => ({ policy: at(v.policies, run), status: ['published', 'denied'] })),
  ];
}

/** A query's latency over the runs. */
export interface Measured {
  name: string;
  p50: number;
  p95: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs each query (one warm-up, then `runs` timed runs) on `target` and prints its p50/p95. */
export async function measureQueries(
  queries: NamedQuery[],
  target: AuditQueryTarget,
  runs: number,
): Promise<Measured[]> {
  const results: Measured[] = [];
  for (const query of queries) {
    const call = await query.prepare(target);
    if (call === undefined) {
      console.log(`${query.name.padEnd(28)} not offered here`);
      continue;
    }
    await call(-1);
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      const began = performance.now();
      await call(run);
      times.push(performance.now() - began);
    }
    times.sort((a, b) => a - b);
    const result = { name: query.name, p50: percentile(times, 50), p95: percentile(times, 95) };
    console.log(
      `${query.name.padEnd(28)} p50 ${result.p50.toFixed(1).padStart(8)} ms   p95 ${result.p95.toFixed(1).padStart(8)} ms`,
    );
    results.push(result);
  }
  return results;
}

/** The figures on one line: `name p50=…ms p95=…ms`, and the worst p95 against the 50 ms goal. */
export function figuresLine(results: Measured[]): string {
  const worst = Math.max(...results.map((r) => r.p95));
  return (
    results.map((r) => `${r.name} p50=${r.p50.toFixed(1)}ms p95=${r.p95.toFixed(1)}ms`).join(' ') +
    ` worst-p95=${worst.toFixed(1)}ms goal<=50ms`
  );
}

/**
 * Checks 3 and 5 need facts the provenance does not carry: the Source level of the
 * build's source revision and the build level of each resolved dependency. This asks
 * every attestor about each of them (bounded concurrency, a timeout per lookup, a cache
 * of answers) and produces the `LevelEvidence` that policy evaluation takes.
 *
 * Each dependency is counted once, at the highest level any attestor proves (VSA spec
 * §dependencyLevels); an unknown one is level 0 with its reasons. Pending answers and
 * attestors that are down are reported, never waited for here: the workflow asks again
 * after a durable timer, and after its deadline calls with `failOnUnavailable: false`
 * so that what is still missing counts as level 0 (fail closed).
 */
import * as z from 'zod';
import { GateError, isGateError, isRetryable, type ErrorCode } from '../core/errors.ts';
import { ErrorCodeSchema } from '../core/model.ts';
import { LevelEvidenceSchema } from '../core/policy/policy-rule.ts';
import {
  evidenceFactsOf,
  nonSourceDependencies,
  type EvidenceFacts,
} from '../core/provenance/evidence-facts.ts';
import type { Provenance } from '../core/provenance/provenance.ts';
import { countDependencyLevels } from '../core/vsa/vsa-statement.ts';
import {
  attestorUnavailable,
  describeResource,
  resourceKey,
  type Attestor,
  AttestorEvidenceSchema,
  LevelMethodSchema,
  ResourceSchema,
  ReasonSchema,
  reasonOf,
  type AttestorAnswer,
  type AttestorEvidence,
  type LevelMethod,
  type Reason,
  type Resource,
} from './attestor.ts';
import { levelCacheKey, type LevelCache } from './level-cache.ts';

/** Options of `resolveLevels`. */
export interface ResolveLevelsOptions {
  attestors: readonly Attestor[];
  cache?: LevelCache;
  /** How long answers are cached: `found` (default 1 h) and `not-found` (default 5 min). Pending answers are not cached. */
  ttlMs?: { found?: number; notFound?: number };
  /** Lookups in flight at once (default 16). */
  concurrency?: number;
  /** Timeout of one lookup (default 30 s); per attestor name in `timeoutMsByAttestor`. */
  timeoutMs?: number;
  timeoutMsByAttestor?: Record<string, number>;
  signal?: AbortSignal;
  /** Called after each lookup with `{ done, total }` (an activity's heartbeat). */
  heartbeat?: (detail: { done: number; total: number }) => void;
  /** Throw a retryable ATTESTOR_UNAVAILABLE when an attestor could not answer (default true); false after the deadline. */
  failOnUnavailable?: boolean;
  /** Return the attestations the levels rest on, raw bytes included, in `attestations` (for the archive). */
  includeAttestations?: boolean;
  /** Told of each answer: an attestor's (`found`, …, `unavailable`) or the cache's (`cache-hit`), for metrics. */
  onAnswer?: (attestor: string, result: 'cache-hit' | AttestorAnswer['status'] | 'unavailable') => void;
}

/** What was found for one resource. */
export const ResolvedResourceSchema = z.strictObject({
  role: z.enum(['source', 'dependency']),
  resource: ResourceSchema,
  /** The proven level on the role's track (Source for the source, Build for a dependency); 0 when unknown. */
  level: z.number().int().min(0).max(4),
  method: LevelMethodSchema.optional(),
  /** Digests of the attestations the level rests on. */
  evidence: z.array(z.string()),
  status: z.enum(['found', 'not-found', 'pending', 'unavailable']),
  reasons: z.array(ReasonSchema),
});
export type ResolvedResource = z.infer<typeof ResolvedResourceSchema>;

/** The outcome of one resolution (an activity result: plain JSON). */
export const LevelResolutionSchema = z.strictObject({
  /** Input to policy evaluation (check 3 `sources`, check 5 `dependencies`). */
  levels: LevelEvidenceSchema,
  /** `SLSA_BUILD_LEVEL_n` → count over all dependencies, unknown ones at 0, for the issued VSA. */
  dependencyLevels: z.record(z.string(), z.number().int().nonnegative()),
  resources: z.array(ResolvedResourceSchema),
  /** Lookups answered "pending"; the workflow waits `retryAfterSeconds` (the largest) and asks again. */
  pending: z.array(
    z.strictObject({
      attestor: z.string(),
      resource: z.string(),
      retryAfterSeconds: z.number().int().nonnegative().optional(),
    }),
  ),
  /** Lookups that failed; retryable ones are asked again, the rest prove nothing. */
  unavailable: z.array(
    z.strictObject({
      attestor: z.string(),
      resource: z.string(),
      /** Why it failed; whether it is asked again follows from the code (src/core/errors.ts). */
      code: ErrorCodeSchema,
      message: z.string(),
    }),
  ),
  /** Why a resource could not even be asked about (e.g. the provenance gives no source commit). */
  reasons: z.array(ReasonSchema),
  /** `complete` when nothing is pending or unavailable-and-retryable. */
  status: z.enum(['complete', 'pending']),
  /** With `includeAttestations`: each attestation a level rests on, once, raw bytes included. */
  attestations: z.array(AttestorEvidenceSchema).optional(),
  stats: z.strictObject({
    lookups: z.number().int().nonnegative(),
    cacheHits: z.number().int().nonnegative(),
    resources: z.number().int().nonnegative(),
  }),
});
export type LevelResolution = z.infer<typeof LevelResolutionSchema>;

/** What a provenance asks about: its source revision (or why there is none) and its dependencies (an activity payload). */
export const ProvenanceResourcesSchema = z.strictObject({
  source: ResourceSchema.optional(),
  sourceReason: z.string().optional(),
  dependencies: z.array(ResourceSchema),
});
export type ProvenanceResources = z.infer<typeof ProvenanceResourcesSchema>;

const DEFAULT_TTL = { found: 60 * 60_000, notFound: 5 * 60_000 };

/** The resources of a provenance: its source revision and each non-source dependency with a digest, once each. */
export function resourcesOf(provenance: Provenance): ProvenanceResources {
  return resourcesOfFacts(evidenceFactsOf(provenance));
}

/** As `resourcesOf`, from facts already extracted from the provenance. */
export function resourcesOfFacts(facts: EvidenceFacts): ProvenanceResources {
  const out: ProvenanceResources = { dependencies: [] };
  const { sourceRepo: repo, sourceCommit: commit, sourceRef: ref } = facts;
  if (repo === undefined) out.sourceReason = 'the provenance names no source repository';
  else if (commit === undefined || ref === undefined)
    out.sourceReason = `the provenance gives no ${commit === undefined ? 'commit' : 'ref'} for ${repo}`;
  else if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(commit))
    out.sourceReason = `the provenance's commit ${JSON.stringify(commit)} is not a full commit id`;
  else out.source = { kind: 'git', repo, commit: commit.toLowerCase(), ref };

  const seen = new Set<string>();
  for (const dep of nonSourceDependencies(facts.dependencies, repo)) {
    const resource: Resource =
      dep.uri?.startsWith('pkg:') === true
        ? { kind: 'purl', purl: dep.uri, digest: dep.digest }
        : { kind: 'artifact', ...(dep.uri === undefined ? {} : { uri: dep.uri }), digest: dep.digest };
    const key = resourceKey(resource);
    if (seen.has(key)) continue;
    seen.add(key);
    out.dependencies.push(resource);
  }
  return out;
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** One lookup bounded by its timeout and the caller's signal. */
async function lookupWithTimeout(
  attestor: Attestor,
  resource: Resource,
  timeoutMs: number,
  opts: ResolveLevelsOptions,
  progress: { done: number; total: number },
): Promise<AttestorAnswer> {
  const timeout = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timeout.abort();
      reject(attestorUnavailable(attestor.name, `no answer within ${timeoutMs} ms`, true, { timeoutMs }));
    }, timeoutMs);
  });
  try {
    const lookup = attestor.lookup(resource, {
      signal,
      ...(opts.heartbeat ? { heartbeat: () => opts.heartbeat?.({ ...progress }) } : {}),
    });
    return await Promise.race([lookup, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolve the source and dependency levels of one provenance through the attestors. */
export function resolveLevels(provenance: Provenance, opts: ResolveLevelsOptions): Promise<LevelResolution> {
  return resolveResources(resourcesOf(provenance), opts);
}

/**
 * As `resolveLevels`, for resources already listed (`resourcesOf`): a workflow with many
 * dependencies can resolve them in chunks, one activity each, and join the parts with
 * `mergeLevelResolutions`.
 */
export async function resolveResources(
  resources: ProvenanceResources,
  opts: ResolveLevelsOptions,
): Promise<LevelResolution> {
  const ttl = { ...DEFAULT_TTL, ...opts.ttlMs };
  const names = opts.attestors.map((a) => a.name);
  if (new Set(names).size !== names.length) {
    throw new GateError('CONFIG_INVALID', `attestor names must be unique: ${names.join(', ')}`);
  }
  const { source, sourceReason, dependencies } = resources;
  const targets: Array<{ role: ResolvedResource['role']; resource: Resource }> = [
    ...(source ? [{ role: 'source' as const, resource: source }] : []),
    ...dependencies.map((resource) => ({ role: 'dependency' as const, resource })),
  ];
  const answers = targets.map(
    () => new Map<string, AttestorAnswer | { status: 'unavailable'; code: ErrorCode; message: string }>(),
  );
  const tasks = targets.flatMap((_, t) => opts.attestors.map((attestor) => ({ t, attestor })));
  const stats = { lookups: 0, cacheHits: 0, resources: targets.length };
  const progress = { done: 0, total: tasks.length };

  await pool(tasks, opts.concurrency ?? 16, async ({ t, attestor }) => {
    opts.signal?.throwIfAborted();
    const { resource } = targets[t]!;
    const key = levelCacheKey(resource, attestor);
    const cache = attestor.uncached ? undefined : opts.cache;
    let answer = await cache?.get(key);
    if (answer !== undefined) {
      stats.cacheHits++;
      opts.onAnswer?.(attestor.name, 'cache-hit');
    } else {
      stats.lookups++;
      try {
        answer = await lookupWithTimeout(
          attestor,
          resource,
          opts.timeoutMsByAttestor?.[attestor.name] ?? opts.timeoutMs ?? 30_000,
          opts,
          progress,
        );
        opts.onAnswer?.(attestor.name, answer.status);
        if (answer.status !== 'pending')
          await cache?.set(key, answer, answer.status === 'found' ? ttl.found : ttl.notFound);
      } catch (err) {
        if (opts.signal?.aborted || !isGateError(err)) throw err;
        opts.onAnswer?.(attestor.name, 'unavailable');
        answers[t]!.set(attestor.name, {
          status: 'unavailable',
          code: err.code,
          message: err.message,
        });
      }
    }
    if (answer !== undefined) answers[t]!.set(attestor.name, answer);
    progress.done++;
    opts.heartbeat?.({ ...progress });
  });

  const resolution: LevelResolution = {
    levels: { sources: [], dependencies: [] },
    dependencyLevels: {},
    resources: [],
    pending: [],
    unavailable: [],
    status: 'complete',
    reasons:
      sourceReason === undefined ? [] : [reasonOf('SOURCE_LEVEL_INSUFFICIENT', 'source', sourceReason)],
    stats,
  };
  const kept = new Map<string, AttestorEvidence>();
  targets.forEach(({ role, resource }, t) => {
    const track = role === 'source' ? 'source' : 'build';
    const reasons: Reason[] = [];
    let best: { level: number; method: LevelMethod; evidence: AttestorEvidence[] } | undefined;
    let status: ResolvedResource['status'] = 'not-found';
    // In the configured order, whatever order the lookups finished in.
    for (const { name: attestor } of opts.attestors) {
      const answer = answers[t]!.get(attestor);
      if (answer === undefined) continue;
      reasons.push(
        ...(answer.status === 'unavailable'
          ? [reasonOf(answer.code, attestor, answer.message)]
          : answer.reasons),
      );
      if (answer.status === 'pending') {
        resolution.pending.push({
          attestor,
          resource: describeResource(resource),
          ...(answer.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: answer.retryAfterSeconds }),
        });
        if (status === 'not-found') status = 'pending';
      } else if (answer.status === 'unavailable') {
        resolution.unavailable.push({
          attestor,
          resource: describeResource(resource),
          code: answer.code,
          message: answer.message,
        });
        if (status === 'not-found' && isRetryable(answer.code)) status = 'unavailable';
      } else if (answer.status === 'found') {
        const level = answer.levels[track];
        if (level === undefined) {
          reasons.push(reasonOf('NO_ATTESTATION', attestor, `its attestations prove no ${track} level`));
          continue;
        }
        status = 'found';
        if (best === undefined || level > best.level)
          best = {
            level,
            method: answer.method,
            evidence: answer.attestations.filter((a) => a.proven[track] === level),
          };
      }
    }
    // A revoked digest proves no level, whichever attestor still holds a VSA issued for it
    // before: another store may serve a copy of that VSA (docs/security-model.md#revocation).
    if (reasons.some((r) => r.code === 'REVOKED')) best = undefined;
    if (best === undefined)
      reasons.push(
        reasonOf(
          role === 'source' ? 'SOURCE_LEVEL_INSUFFICIENT' : 'DEP_LEVEL_INSUFFICIENT',
          describeResource(resource),
          `no ${track} level proven; counted as level 0`,
        ),
      );
    resolution.resources.push({
      role,
      resource,
      level: best?.level ?? 0,
      ...(best ? { method: best.method } : {}),
      evidence: best?.evidence.map((e) => e.digest) ?? [],
      status,
      reasons,
    });
    if (best === undefined) return;
    for (const e of best.evidence) if (!kept.has(e.digest)) kept.set(e.digest, e);
    const evidence = best.evidence.map((e) => e.digest);
    if (role === 'source' && resource.kind === 'git') {
      resolution.levels.sources!.push({
        repo: resource.repo,
        commit: resource.commit,
        refs: [resource.ref],
        level: best.level,
        evidence,
        // Source levels come from VSAs (any signed store, the archive included) or the static file.
        method: best.method === 'static' ? 'static' : 'vsa',
      });
    } else if (resource.kind !== 'git' && resource.digest !== undefined) {
      const uri = resource.kind === 'purl' ? resource.purl : resource.uri;
      resolution.levels.dependencies!.push({
        ...(uri === undefined ? {} : { uri }),
        digest: resource.digest,
        level: best.level,
        evidence,
        method: best.method,
      });
    }
  });
  resolution.dependencyLevels = dependencyLevelsOf(resolution.resources);
  if (opts.includeAttestations) resolution.attestations = [...kept.values()];
  if (resolution.pending.length > 0 || resolution.unavailable.some((u) => isRetryable(u.code)))
    resolution.status = 'pending';
  if ((opts.failOnUnavailable ?? true) && resolution.unavailable.some((u) => isRetryable(u.code))) {
    const down = [
      ...new Set(resolution.unavailable.filter((u) => isRetryable(u.code)).map((u) => u.attestor)),
    ];
    throw attestorUnavailable(
      down.join(', '),
      `${resolution.unavailable.length} lookups failed; answers so far are cached`,
      true,
      {
        unavailable: resolution.unavailable.slice(0, 20),
      },
    );
  }
  return resolution;
}

/** One dependency is one digest set, whatever URI names it (counted once at its highest level). */
function digestKey(resource: Resource): string {
  const digest = resource.kind === 'git' ? { gitCommit: resource.commit } : (resource.digest ?? {});
  return Object.entries(digest)
    .map(([alg, v]) => `${alg}:${v.toLowerCase()}`)
    .sort()
    .join(',');
}

function dependencyLevelsOf(resources: readonly ResolvedResource[]): Record<string, number> {
  return countDependencyLevels(
    resources
      .filter((r) => r.role === 'dependency')
      .map((r) => ({ key: digestKey(r.resource), level: r.level })),
  );
}

/** Joins resolutions of parts of one provenance (chunks of its dependencies) into one. */
export function mergeLevelResolutions(parts: readonly LevelResolution[]): LevelResolution {
  const resources = parts.flatMap((p) => p.resources);
  const pending = parts.flatMap((p) => p.pending);
  const unavailable = parts.flatMap((p) => p.unavailable);
  return {
    levels: {
      sources: parts.flatMap((p) => p.levels.sources ?? []),
      dependencies: parts.flatMap((p) => p.levels.dependencies ?? []),
    },
    dependencyLevels: dependencyLevelsOf(resources),
    resources,
    pending,
    unavailable,
    // Each chunk repeats the provenance-wide reasons; keep one of each.
    reasons: [
      ...new Map(
        parts.flatMap((p) => p.reasons).map((r) => [JSON.stringify([r.code, r.origin, r.message]), r]),
      ).values(),
    ],
    ...(parts.some((p) => p.attestations !== undefined)
      ? {
          attestations: [
            ...new Map(parts.flatMap((p) => p.attestations ?? []).map((a) => [a.digest, a])).values(),
          ],
        }
      : {}),
    status: parts.some((p) => p.status === 'pending') ? 'pending' : 'complete',
    stats: {
      lookups: parts.reduce((n, p) => n + p.stats.lookups, 0),
      cacheHits: parts.reduce((n, p) => n + p.stats.cacheHits, 0),
      resources: parts.reduce((n, p) => n + p.stats.resources, 0),
    },
  };
}

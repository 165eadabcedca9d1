/**
 * Impact analysis (`slsa-gate audit impact`): which releases relied on a dependency, a
 * builder (version), a source repository (commit), a signing identity or a policy —
 * directly, or transitively through artifacts slsa-gate published and that others then used
 * as dependencies (each such artifact carries the VSA slsa-gate issued for it, which is how
 * the depending publish proved its level).
 *
 * Inputs are normalised the way the policy compares them: `github.com/o/r`,
 * `https://github.com/o/r` and `git+https://github.com/o/r` are one repository
 * (slsa-verifier NormalizeGitURI); `builder@v1` is id and version, and a version matches
 * `v1` or `refs/tags/v1` (slsa-verifier MatchesLoose); `--since` is read as everywhere (archive/audit-time.ts).
 */
import * as z from 'zod';
import { GateError } from '../../core/errors.ts';
import { gitUriFromHttps, normaliseExpectedSourceUri } from '../../core/provenance/git-uri.ts';
import { AuditTimeSchema } from '../../archive/audit-time.ts';
import { DecisionStatusSchema } from '../../archive/lifecycle.ts';
import type { QueryResult, ReadModel } from './read-model.ts';

export const ImpactQuerySchema = z
  .strictObject({
    dependency: z.string().min(1).optional(),
    builder: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    signer: z.string().min(1).optional(),
    policy: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>')
      .optional(),
    /** Decision statuses to list; default: published releases only. */
    status: z.array(DecisionStatusSchema).min(1).default(['published']),
    /** Decided at or after: a date (that UTC day's start) or an instant (archive/audit-time.ts). */
    since: AuditTimeSchema.optional(),
  })
  .refine(
    (q) =>
      [q.dependency, q.builder, q.source, q.signer, q.policy].filter((v) => v !== undefined).length === 1,
    'give exactly one of dependency, builder, source, signer, policy',
  );
export type ImpactQuery = z.input<typeof ImpactQuerySchema>;

/** A source repository as the policy compares it, and the commit after `@`, if any. */
export function normaliseSource(value: string): { repo: string; commit?: string } {
  const at = value.lastIndexOf('@');
  const [repoPart, commit] = at > 0 ? [value.slice(0, at), value.slice(at + 1)] : [value, undefined];
  const repo = repoPart.startsWith('https://')
    ? gitUriFromHttps(repoPart)
    : normaliseExpectedSourceUri(repoPart.replace(/\/+$/, ''));
  return commit ? { repo, commit } : { repo };
}

/** `name@version` → id and version (a builder id has at most one `@`, slsa-verifier ParseBuilderID). */
export function normaliseBuilder(value: string): { id: string; version?: string } {
  const parts = value.split('@');
  if (parts.length > 2 || parts[0] === '' || parts[1] === '') {
    throw new GateError('INPUT_INVALID', `--builder ${value} is not id[@version]`);
  }
  const version = parts[1]?.replace(/^refs\/tags\//, '');
  return version ? { id: parts[0]!, version } : { id: parts[0]! };
}

/**
 * A dependency as recorded in provenance: a URI or purl, with an optional `@sha256:<hex>`
 * digest; a bare `sha256:<hex>` matches by digest alone. Git URIs are normalised like sources.
 */
export function normaliseDependency(value: string): { uri?: string; digest?: string } {
  const digestMatch = /^(?:(.*)@)?(sha256:[0-9a-fA-F]{64})$/.exec(value);
  const uriPart = digestMatch ? digestMatch[1] : value;
  const digest = digestMatch?.[2]?.toLowerCase();
  if (uriPart === undefined || uriPart === '') {
    if (!digest) throw new GateError('INPUT_INVALID', `--dependency ${value} names nothing`);
    return { digest };
  }
  const uri =
    uriPart.startsWith('pkg:') ||
    (/^[a-z][a-z0-9+.-]*:\/\//.test(uriPart) && !uriPart.startsWith('https://github.com/'))
      ? uriPart
      : /^(https:\/\/)?github\.com\//.test(uriPart) || uriPart.startsWith('git+')
        ? normaliseSource(uriPart).repo
        : uriPart;
  return digest ? { uri, digest } : { uri };
}

/** The SQL that selects the decisions relying on the subject directly: one `decision_id` column. */
function directSql(q: z.output<typeof ImpactQuerySchema>): { sql: string; params: Record<string, string> } {
  if (q.policy)
    return {
      sql: 'SELECT decision_id FROM decisions WHERE policy_digest = $policy',
      params: { policy: q.policy },
    };
  if (q.builder) {
    const b = normaliseBuilder(q.builder);
    return b.version
      ? {
          sql: `SELECT decision_id FROM decisions WHERE builder_id = $id
                AND (builder_version = $version OR builder_version = 'refs/tags/' || $version)`,
          params: { id: b.id, version: b.version },
        }
      : { sql: 'SELECT decision_id FROM decisions WHERE builder_id = $id', params: { id: b.id } };
  }
  if (q.source) {
    const s = normaliseSource(q.source);
    return s.commit
      ? {
          sql: 'SELECT decision_id FROM source_refs WHERE source_repo = $repo AND source_commit = $commit',
          params: { repo: s.repo, commit: s.commit },
        }
      : { sql: 'SELECT decision_id FROM source_refs WHERE source_repo = $repo', params: { repo: s.repo } };
  }
  if (q.signer) {
    return {
      sql: 'SELECT decision_id FROM decision_signers WHERE signer_identity = $signer',
      params: { signer: q.signer },
    };
  }
  const dep = normaliseDependency(q.dependency!);
  const where: string[] = [];
  const params: Record<string, string> = {};
  if (dep.uri !== undefined) {
    // A recorded URI may carry a ref or version after `@` (`git+https://…@refs/heads/main`, `pkg:npm/x@1.0.0`).
    where.push(`(dep.uri = $uri OR starts_with(dep.uri, $uri || '@'))`);
    params.uri = dep.uri;
  }
  if (dep.digest !== undefined) {
    where.push('list_contains(dep.digests, $digest)');
    params.digest = dep.digest;
  }
  return {
    sql: `SELECT DISTINCT decision_id FROM decision_dependencies dep WHERE ${where.join(' AND ')}`,
    params,
  };
}

/**
 * The releases (decisions in the given statuses) that relied on the subject, directly or
 * through artifacts slsa-gate published that they depend on, newest first. `via` is the
 * artifact digest an indirect one depended on (null for direct).
 */
export async function impact(model: ReadModel, query: ImpactQuery): Promise<QueryResult> {
  const parsed = ImpactQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new GateError('INPUT_INVALID', `invalid impact query:\n${z.prettifyError(parsed.error)}`);
  const q = parsed.data;
  const direct = directSql(q);
  const params: Record<string, string> = { ...direct.params };
  const statuses = q.status.map((s, i) => {
    params[`status${i}`] = s;
    return `$status${i}`;
  });
  let since = '';
  if (q.since) {
    params.since = q.since;
    since = 'AND d.decided_at >= CAST($since AS TIMESTAMPTZ)';
  }
  // Affected decisions: the direct ones, then every decision with a dependency whose digest is
  // the artifact of an affected decision that was published (and so carries our VSA).
  const sql = `
    WITH RECURSIVE affected(decision_id, via) AS (
      SELECT decision_id, NULL::VARCHAR FROM (${direct.sql})
      UNION
      SELECT e.downstream, e.digest FROM affected a JOIN dependency_edges e ON e.upstream = a.decision_id
    ),
    first_path AS (SELECT decision_id, min(via) AS via FROM affected GROUP BY decision_id)
    SELECT coalesce(p.repository, d.repository) AS repository, coalesce(p.tag, d.tag) AS tag,
      coalesce(p.digest, d.artifact_digest) AS digest, d.decision_id, s.status, d.outcome,
      d.decided_at, p.published_at, f.via
    FROM first_path f
    JOIN decisions d USING (decision_id)
    JOIN decision_status s USING (decision_id)
    LEFT JOIN publications p USING (decision_id)
    WHERE s.status IN (${statuses.join(', ')}) ${since}
    ORDER BY d.decided_at DESC, d.decision_id`;
  return model.query(sql, params);
}

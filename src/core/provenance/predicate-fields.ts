/**
 * Readers shared by the per-version adapters: each turns a predicate field into the
 * model's form, and records a finding (never throws) when the field is not of the
 * form the spec requires, so the check that owns the fact reports it.
 */
import { parseGitUri, type GitUriAndRef } from './git-uri.ts';
import type { ProvenanceDraft, ProvenanceFinding } from './provenance.ts';

/** `value` as a JSON object, else undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** slsa-verifier common.GetAsString: a string, or a finite number printed. */
export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** `git+https://…[@ref]` split; anything else is a source finding at `path`. */
export function gitUri(
  value: string | undefined,
  path: string,
  origin: string,
  findings: ProvenanceFinding[],
): GitUriAndRef | undefined {
  if (value === undefined) return undefined;
  const parsed = parseGitUri(value);
  if (parsed === undefined)
    findings.push({
      check: 'source',
      code: 'SOURCE_MISMATCH',
      message: `${origin}: ${path} ${JSON.stringify(value)} is not git+https://…[@ref]`,
      path,
    });
  return parsed;
}

/** The commit of a source material: in-toto `gitCommit`, or `sha1` as v0.2 generators wrote it. */
export function commitOf(digest: Record<string, string> | undefined): string | undefined {
  return digest?.gitCommit ?? digest?.sha1;
}

/** Resolved dependencies / materials in the model's form (a missing digest is an empty set). */
export function dependenciesOf(
  list: ReadonlyArray<{
    uri?: string;
    digest?: Record<string, string>;
    name?: string;
    annotations?: Record<string, unknown>;
  }>,
): ProvenanceDraft['resolvedDependencies'] {
  return list.map((d) => {
    const dep: ProvenanceDraft['resolvedDependencies'][number] = { digest: d.digest ?? {} };
    if (d.uri !== undefined) dep.uri = d.uri;
    if (d.name !== undefined) dep.name = d.name;
    if (d.annotations !== undefined) dep.annotations = d.annotations;
    return dep;
  });
}

/** builder.id split as slsa-verifier utils.ParseBuilderID does: at most one `@`, a non-empty version after it. */
export function builderOf(
  id: string,
  rawId: string,
  path: string,
  origin: string,
  findings: ProvenanceFinding[],
): ProvenanceDraft['builder'] {
  const parts = id.split('@');
  if (parts.length > 2 || parts[1] === '') {
    findings.push({
      check: 'builder',
      code: 'BUILDER_UNTRUSTED',
      message: `${origin}: ${path} ${JSON.stringify(rawId)} is not name[@version]`,
      path,
    });
    return rawId === id ? { id, name: id } : { id, name: id, rawId };
  }
  const builder: ProvenanceDraft['builder'] = { id, name: parts[0] ?? id };
  if (parts[1] !== undefined) builder.version = parts[1];
  if (rawId !== id) builder.rawId = rawId;
  return builder;
}

/**
 * The source of the build from the source material and the trigger. slsa-verifier
 * verifySourceURI: both name the same repository and ref; where they differ the
 * material is kept and the source check reports the contradiction.
 */
export function withSource(
  draft: ProvenanceDraft,
  source: GitUriAndRef | undefined,
  commit: string | undefined,
  trigger: GitUriAndRef | undefined,
  triggerPath: string,
  origin: string,
  findings: ProvenanceFinding[],
): ProvenanceDraft {
  if (source !== undefined && trigger !== undefined) {
    if (source.uri !== trigger.uri)
      findings.push({
        check: 'source',
        code: 'SOURCE_MISMATCH',
        message: `${origin}: ${triggerPath} ${JSON.stringify(trigger.uri)} differs from the source material ${JSON.stringify(source.uri)}`,
        path: triggerPath,
      });
    else if (source.ref !== undefined && trigger.ref !== undefined && source.ref !== trigger.ref)
      findings.push({
        check: 'source',
        code: 'SOURCE_MISMATCH',
        message: `${origin}: ${triggerPath} ref ${JSON.stringify(trigger.ref)} differs from the source material ref ${JSON.stringify(source.ref)}`,
        path: triggerPath,
      });
  }
  const chosen = source ?? trigger;
  if (chosen === undefined) return draft;
  const ref = source?.ref ?? trigger?.ref;
  draft.source = { uri: chosen.uri };
  if (ref !== undefined) draft.source.ref = ref;
  if (commit !== undefined) draft.source.commit = commit;
  return draft;
}

/** Copies the GitHub context facts the source check compares with the certificate. */
export function setGithubContext(
  draft: ProvenanceDraft,
  ctx: {
    event?: string | undefined;
    repositoryId?: string | undefined;
    repositoryOwnerId?: string | undefined;
  },
): void {
  if (ctx.event !== undefined) draft.event = ctx.event;
  if (ctx.repositoryId !== undefined) draft.repositoryId = ctx.repositoryId;
  if (ctx.repositoryOwnerId !== undefined) draft.repositoryOwnerId = ctx.repositoryOwnerId;
}

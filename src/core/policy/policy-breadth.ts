/**
 * Breadth (docs/policy.md#breadth-policy_too_broad): a pin in a rule that a project other than
 * the one the rule is about also satisfies. Every field a requester's or signer's material is
 * compared with by a pattern or a wildcard is read for what it fixes: a signer pattern must fix
 * the host and the owner and repository (or be an exact list), an artifact or dependency
 * pattern the registry and owner (or the package type and name), a source repository must be
 * one repository, a release destination pattern the registry and owner. A rule that needs no
 * provenance is pinned by its identities alone, so an identity that is only a builder's signer
 * (the builder signs for everyone it builds for) is broad there. Cloud Build's hosted worker builds for every Google Cloud project and its
 * provenance does not name the project, so a rule that names it cannot tell projects apart.
 *
 * Findings are refused as POLICY_TOO_BROAD unless the rule says `allowBroad: true`, which
 * makes them warnings (policy-file.ts decides which, in parsePolicy).
 */
import { matchesExactOrAnchored } from './anchored-pattern.ts';
import { fixedHeads, type FixedHead } from './fixed-heads.ts';
import type { Identity, PolicyRule } from './policy-rule.ts';
import type { TrustMap } from './trust-map.ts';

/** One broad pin: where it is and why another project satisfies it. */
export interface BreadthFinding {
  path: string;
  message: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//;
/** `https://host/` */
const URL_HOST = /^[a-z][a-z0-9+.-]*:\/\/[^/]+\//;
/** `https://host/owner/` */
const URL_OWNER = /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/[^/]+\//;
/** `https://host/owner/repo/`: the project a CI identity belongs to (GitHub, GitLab, Buildkite …). */
const URL_PROJECT = /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/[^/]+\/[^/]+\//;
/** `pkg:type/namespace/` or `pkg:type/name@` */
const PURL_NAME = /^pkg:[^/]+\/[^/]+[/@]/;
/** `registry/owner/` */
const OCI_OWNER = /^[^/]+\/[^/]+\//;
/** `github.com/owner/*` or `git+https://github.com/owner/*`: one owner, any repository. */
const OWNER_GLOB = /^(?:git\+https:\/\/)?[^/*]+\/([^/*]+)\/\*$/;

/**
 * The hosted Cloud Build worker (slsa-verifier's GCB builder id): shared by every Google Cloud
 * project, and its signed provenance names no project (corpus slsa-verifier/gcb-v0.3-valid: the
 * project appears only in the unsigned occurrence name).
 */
const SHARED_UNNAMED_TENANT_BUILDERS = ['https://cloudbuild.googleapis.com/GoogleHostedWorker'];

/** Why an open head of a signer-identity pattern admits other projects, or undefined when it does not. */
function identityHeadReach(head: FixedHead): string | undefined {
  if (head.whole) return undefined;
  const fixed = head.text;
  if (fixed === '') return 'matches every signer identity';
  if (SCHEME.test(fixed)) {
    if (!URL_HOST.test(fixed))
      return `the host is not fixed (only ${JSON.stringify(fixed)}): signers on any host match`;
    if (!URL_PROJECT.test(fixed))
      return `the owner and repository are not fixed (only ${JSON.stringify(fixed)}): another project on that host matches`;
    return undefined;
  }
  return `only ${JSON.stringify(fixed)} is fixed: other accounts match`;
}

/** Why an open head of an artifact or dependency name pattern admits other projects' names. */
function nameHeadReach(head: FixedHead): string | undefined {
  if (head.whole) return undefined;
  const fixed = head.text;
  if (fixed === '') return 'matches every name';
  const pinned = SCHEME.test(fixed)
    ? URL_OWNER.test(fixed)
    : fixed.startsWith('pkg:')
      ? PURL_NAME.test(fixed)
      : OCI_OWNER.test(fixed);
  return pinned
    ? undefined
    : `only ${JSON.stringify(fixed)} is fixed: names of another registry, owner or package match`;
}

/** The first reason any way through `pattern` reaches too far. */
function patternReach(pattern: string, reach: (h: FixedHead) => string | undefined): string | undefined {
  for (const head of fixedHeads(pattern)) {
    const why = reach(head);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Whether an entry is an anchored pattern rather than an exact value. */
const isPattern = (v: string) => v.startsWith('^') && v.endsWith('$');

/** `https://host/owner/repo/` of a URL identity, if it has one. */
function projectOf(text: string): string | undefined {
  return URL_PROJECT.exec(text)?.[0];
}

/**
 * The projects whose signers are builders in the trust map: a reusable workflow's repository
 * signs for every caller (slsa-github-generator), a builder key for every build it runs.
 */
function builderSignerProjects(trustMap: TrustMap): Set<string> {
  const projects = new Set<string>();
  for (const { signer } of trustMap.builders) {
    if (signer.kind !== 'certificate') continue;
    const heads =
      signer.identity !== undefined
        ? [{ text: signer.identity, whole: true }]
        : fixedHeads(signer.identityPattern ?? '');
    const each = heads.map((h) => projectOf(h.text));
    // Only an entry fixed to named repositories: "any GitHub workflow" is not one builder's signer.
    if (each.every((p) => p !== undefined)) for (const p of each) projects.add(p!);
  }
  return projects;
}

/** Why `identity` is only a builder's signer, or undefined. */
function builderSignerOnly(identity: Identity, trustMap: TrustMap): string | undefined {
  if (identity.repo !== undefined || identity.repoId !== undefined) return undefined;
  if (
    identity.keyId !== undefined &&
    trustMap.builders.some(
      ({ signer: s }) => s.kind === 'key' && matchesExactOrAnchored(identity.keyId, s.keyId, s.keyIdPattern),
    )
  )
    return `key ${JSON.stringify(identity.keyId)} is a builder's key in the trust map: it signs every build that builder runs, for any project`;
  const projects = builderSignerProjects(trustMap);
  const named = [
    ...(identity.subject !== undefined ? [identity.subject] : []),
    ...(identity.subjectPattern !== undefined ? fixedHeads(identity.subjectPattern).map((h) => h.text) : []),
  ]
    .map(projectOf)
    .find((p) => p !== undefined && projects.has(p));
  return named === undefined
    ? undefined
    : `${named} is a builder's repository in the trust map: its workflows sign for every project that calls them; add repo or repoId`;
}

/** `signatureOnly`: the identities alone pin the rule's project (its own signers, in a rule without provenance). */
function identityFindings(
  identities: readonly Identity[],
  at: string,
  signatureOnly: boolean,
  trustMap: TrustMap,
): BreadthFinding[] {
  const out: BreadthFinding[] = [];
  identities.forEach((id, j) => {
    // repo/repoId pin the project (Fulcio Source Repository URI/Identifier); a pattern beside
    // them only narrows which of its workflows may sign.
    const pinnedByRepo = id.repo !== undefined || id.repoId !== undefined;
    const why =
      id.subjectPattern !== undefined && !pinnedByRepo
        ? patternReach(id.subjectPattern, identityHeadReach)
        : undefined;
    if (why !== undefined) out.push({ path: `${at}[${j}].subjectPattern`, message: why });
    // Without provenance nothing else (source, builder) pins the project.
    const shared = signatureOnly ? builderSignerOnly(id, trustMap) : undefined;
    if (shared !== undefined) out.push({ path: `${at}[${j}]`, message: shared });
  });
  return out;
}

/** Every broad pin of one rule (its path prefix `at`, e.g. `rules[2]`). */
export function breadthFindings(rule: PolicyRule, at: string, trustMap: TrustMap): BreadthFinding[] {
  const out: BreadthFinding[] = [];
  rule.artifacts.forEach((a, k) => {
    const why = isPattern(a) ? patternReach(a, nameHeadReach) : undefined;
    if (why !== undefined)
      out.push({
        path: `${at}.artifacts[${k}]`,
        message: `the rule covers other projects' artifacts: ${why}`,
      });
  });
  out.push(...identityFindings(rule.identities, `${at}.identities`, !rule.requireProvenance, trustMap));
  out.push(...identityFindings(rule.vsa?.identities ?? [], `${at}.vsa.identities`, false, trustMap));
  (rule.source?.repos ?? []).forEach((r, k) => {
    if (!r.includes('*')) return;
    const owner = OWNER_GLOB.exec(r)?.[1];
    out.push({
      path: `${at}.source.repos[${k}]`,
      message:
        owner !== undefined
          ? `not pinned to a repository: any repository of ${owner} matches`
          : 'the host or owner is a wildcard: any project matches',
    });
  });
  rule.builders.forEach((b, k) => {
    const name = b.split('@')[0];
    if (name !== undefined && SHARED_UNNAMED_TENANT_BUILDERS.includes(name))
      out.push({
        path: `${at}.builders[${k}]`,
        message:
          "Cloud Build's hosted worker builds for every Google Cloud project and its provenance does not name the project: the same source built in another project passes",
      });
  });
  // The request chooses among the destinations (guards/destination.ts): a pattern open past the
  // registry and owner lets a requester whose build passes this rule publish into another
  // project's release repository.
  (rule.release?.destinations ?? []).forEach((d, k) => {
    const why = isPattern(d) ? patternReach(d, nameHeadReach) : undefined;
    if (why !== undefined)
      out.push({
        path: `${at}.release.destinations[${k}]`,
        message: `the rule publishes into other projects' repositories: ${why}`,
      });
  });
  (rule.dependencies?.exceptions ?? []).forEach((ex, k) => {
    const why = isPattern(ex.pattern) ? patternReach(ex.pattern, nameHeadReach) : undefined;
    if (why !== undefined)
      out.push({
        path: `${at}.dependencies.exceptions[${k}].pattern`,
        message: `the exception waives other projects' dependencies: ${why}`,
      });
  });
  return out;
}

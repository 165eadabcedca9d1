/**
 * The policy file: YAML or JSON, strict schema, every problem reported with its path.
 * Its digest is sha256 over the canonical JSON of the parsed policy (defaults applied),
 * so formatting, key order, comments and YAML-vs-JSON do not change it.
 */
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { GateError } from '../errors.ts';
import { listIssues } from '../formats/format-issues.ts';
import { compileAnchored } from './anchored-pattern.ts';
import { canonicalJson } from '../canonical-json.ts';
import { breadthFindings } from './policy-breadth.ts';
import { PolicyRuleSchema, type Identity, type PolicyRule } from './policy-rule.ts';
import { defaultTrustMap, type TrustMap, type TrustMapEntry } from './trust-map.ts';

export const PolicySchema = z.strictObject({
  version: z.literal(1),
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  rules: z.array(PolicyRuleSchema).min(1),
});
export type Policy = z.infer<typeof PolicySchema>;

/** One problem in a policy file. */
export interface PolicyProblem {
  path: string;
  message: string;
  /** Set on a breadth finding, so a list that mixes both kinds says which is which. */
  code?: 'POLICY_TOO_BROAD';
}

function problemsError(
  code: 'POLICY_INVALID' | 'POLICY_INCOMPLETE' | 'POLICY_TOO_BROAD',
  origin: string,
  problems: PolicyProblem[],
): GateError {
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
  return new GateError(code, `${origin}: ${problems.length} problem(s)\n${lines}`, {
    detail: { origin, problems },
  });
}

const CERT_FIELDS = [
  'subject',
  'subjectPattern',
  'owner',
  'repo',
  'ownerId',
  'repoId',
  'signerRepo',
  'signerWorkflow',
] as const;

/** Whether some version of `builderId` (`name` or `name@version`) is a builder the trust map names with its signer. */
export function trustMapCovers(trustMap: TrustMap, builderId: string): boolean {
  const versions = builderId.includes('@')
    ? [builderId]
    : [`${builderId}@refs/tags/v1.0.0`, `${builderId}@v0.1`, builderId];
  const test = (pattern: string | undefined, exact: string | undefined, value: string) =>
    value === exact || (pattern !== undefined && compileAnchored(pattern).test(value));
  const covers = (entry: TrustMapEntry, id: string) =>
    (entry.builder.ids ?? []).includes(id) ||
    test(entry.builder.idPattern, undefined, id) ||
    (entry.builder.sameAsSigner === true && test(entry.signer.identityPattern, entry.signer.identity, id));
  return trustMap.builders.some((entry) => versions.some((id) => covers(entry, id)));
}

/**
 * Problems of signer identities (a rule's `identities` or its `vsa.identities`, at `at`): each
 * names a signer, a certificate identity its issuer, and none admits a whole owner or every
 * project of a shared workflow.
 */
function identityProblems(identities: readonly Identity[], at: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  identities.forEach((id, j) => {
    const hasCert = CERT_FIELDS.some((f) => id[f] !== undefined);
    if (!hasCert && id.keyId === undefined)
      problems.push({
        path: `${at}[${j}]`,
        message: 'names no signer (subject, subjectPattern, owner, repo or keyId)',
      });
    if ((hasCert || id.keyId === undefined) && id.issuer === undefined)
      problems.push({
        path: `${at}[${j}].issuer`,
        message: 'a certificate identity needs its OIDC issuer',
      });
    if (
      id.subject === undefined &&
      id.subjectPattern === undefined &&
      hasCert &&
      id.repo === undefined &&
      id.repoId === undefined &&
      id.signerWorkflow === undefined &&
      id.signerRepo === undefined
    )
      problems.push({
        path: `${at}[${j}]`,
        message:
          'an owner alone admits every workflow of every repository of that owner; add repo, subject or subjectPattern',
      });
    // signerRepo/signerWorkflow name the reusable workflow that signed, which
    // any project's build may call (slsa-github-generator signs for everyone who uses it).
    if (
      (id.signerRepo !== undefined || id.signerWorkflow !== undefined) &&
      id.subject === undefined &&
      id.subjectPattern === undefined &&
      id.repo === undefined &&
      id.repoId === undefined
    )
      problems.push({
        path: `${at}[${j}]`,
        message:
          "signerRepo/signerWorkflow name the workflow that signed, which an unrelated project's build also satisfies; add repo, repoId, subject or subjectPattern",
      });
  });
  return problems;
}

/** Problems that make a schema-valid policy unsafe to run (docs/checklist.md#row-10). */
export function completenessProblems(policy: Policy, trustMap: TrustMap): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  policy.rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (rule.artifacts.length === 0)
      problems.push({ path: `${at}.artifacts`, message: 'the rule names no artifact' });
    problems.push(...identityProblems(rule.identities, `${at}.identities`));
    problems.push(...identityProblems(rule.vsa?.identities ?? [], `${at}.vsa.identities`));
    // Trusted builders build anyone's repository: without the source pinned, someone else's
    // build by the same builder would pass for this artifact.
    const sourcePinned =
      (rule.source?.repos.length ?? 0) > 0 ||
      (rule.identities.length > 0 &&
        rule.identities.every((id) => id.repo !== undefined || id.repoId !== undefined));
    if (rule.requireProvenance && !sourcePinned)
      problems.push({
        path: `${at}.source.repos`,
        message: 'pin the source repository (source.repos, or repo/repoId on every identity)',
      });
    if (rule.vsa !== undefined && rule.requireProvenance && (rule.vsa.identities ?? []).length === 0)
      problems.push({
        path: `${at}.vsa.identities`,
        message: 'name who may sign the VSA (verifier key or identity)',
      });
    // The VSA signers speak for the verifier the rule names; with none named they would speak
    // for any verifier id a VSA claims (docs/security-model.md#vsa-signers).
    if (rule.vsa !== undefined && rule.vsa.verifierId === undefined)
      problems.push({
        path: `${at}.vsa.verifierId`,
        message: 'name the verifier whose VSA counts',
      });
    if (rule.identities.length > 0) return;
    if (!rule.requireProvenance || !rule.requireTrustedBuilder) {
      problems.push({
        path: `${at}.identities`,
        message: 'this rule needs a signer identity with its issuer',
      });
      return;
    }
    if (rule.builders.length === 0) {
      problems.push({
        path: `${at}.builders`,
        message: 'without identities the rule must name its builders (the trust map gives their signers)',
      });
      return;
    }
    rule.builders.forEach((b, k) => {
      if (!trustMapCovers(trustMap, b))
        problems.push({
          path: `${at}.builders[${k}]`,
          message: `${b} is not in the builder trust map: add identities with issuer for it`,
        });
    });
  });
  return problems;
}

/**
 * YAML aliases expand when the document becomes a value: nine aliases of nine aliases of
 * a list make a billion entries from a few hundred bytes ("billion laughs"). The yaml
 * library stops at `maxAliasCount` with a plain error; it becomes POLICY_INVALID here.
 */
const MAX_POLICY_ALIASES = 100;

function policyValue(doc: ReturnType<typeof parseDocument>, origin: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_POLICY_ALIASES });
  } catch (cause) {
    throw problemsError('POLICY_INVALID', origin, [
      {
        path: '$',
        message: `YAML aliases expand past ${MAX_POLICY_ALIASES} nodes (${(cause as Error).message})`,
      },
    ]);
  }
}

/**
 * Breadth findings of every rule (policy-breadth.ts), named after their rule: refused unless
 * the rule says `allowBroad: true`, which makes them warnings.
 */
export function breadthProblems(
  policy: Policy,
  trustMap: TrustMap,
): { refused: PolicyProblem[]; warnings: PolicyProblem[] } {
  const refused: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  policy.rules.forEach((rule, i) => {
    const label = rule.name !== undefined ? `rule ${JSON.stringify(rule.name)}` : `rule ${i}`;
    for (const f of breadthFindings(rule, `rules[${i}]`, trustMap)) {
      const problem = { path: f.path, message: `${label}: ${f.message}`, code: 'POLICY_TOO_BROAD' as const };
      if (rule.allowBroad === true)
        warnings.push({ ...problem, message: `${problem.message} (accepted: allowBroad)` });
      else refused.push(problem);
    }
  });
  return { refused, warnings };
}

/**
 * Parse and check a policy (YAML or JSON). Invalid → POLICY_INVALID; unsafe → POLICY_INCOMPLETE
 * (with any breadth findings listed beside); else broad → POLICY_TOO_BROAD; each listing every
 * problem. Breadth findings a rule accepts with `allowBroad: true` come back as warnings.
 */
export function parsePolicy(
  text: string,
  origin: string,
  trustMap: TrustMap = defaultTrustMap(),
): { policy: Policy; digest: string; warnings: PolicyProblem[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw problemsError(
      'POLICY_INVALID',
      origin,
      doc.errors.map((e) => ({
        path: `line ${e.linePos?.[0]?.line ?? '?'}`,
        message: e.message.split('\n')[0] ?? e.code,
      })),
    );
  }
  const parsed = PolicySchema.safeParse(policyValue(doc, origin));
  if (!parsed.success) throw problemsError('POLICY_INVALID', origin, listIssues(parsed.error));
  const problems = completenessProblems(parsed.data, trustMap);
  const { refused, warnings } = breadthProblems(parsed.data, trustMap);
  if (problems.length > 0) throw problemsError('POLICY_INCOMPLETE', origin, [...problems, ...refused]);
  if (refused.length > 0) throw problemsError('POLICY_TOO_BROAD', origin, refused);
  return { policy: parsed.data, digest: digestOfPolicy(parsed.data), warnings };
}

function digestOfPolicy(policy: Policy): string {
  return `sha256:${createHash('sha256').update(canonicalJson(policy)).digest('hex')}`;
}

/**
 * The digest of a policy text as parsePolicy computes it, without the completeness
 * check (which depends on the trust map): for the archive to check stored policies.
 * Undefined when the text is not a valid policy.
 */
export function policyTextDigest(text: string): string | undefined {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  let value: unknown;
  try {
    value = policyValue(doc, 'policy');
  } catch {
    return undefined;
  }
  const parsed = PolicySchema.safeParse(value);
  return parsed.success ? digestOfPolicy(parsed.data) : undefined;
}

/** `oci://host/repo@sha256:…` → `host/repo`; other names as they are. */
function artifactNames(name: string): string[] {
  const bare = name.replace(/^oci:\/\//, '');
  const noDigest = bare.replace(/@sha256:[0-9a-f]{64}$/, '');
  return [...new Set([name, bare, noDigest])];
}

/** The first rule whose `artifacts` names the artifact (exactly or by an anchored pattern); none → POLICY_INCOMPLETE. */
export function selectRule(policy: Policy, artifactName: string): PolicyRule {
  const names = artifactNames(artifactName);
  const rule = policy.rules.find((r) =>
    r.artifacts.some((a) =>
      a.startsWith('^') && a.endsWith('$')
        ? names.some((n) => compileAnchored(a).test(n))
        : names.includes(a),
    ),
  );
  if (rule === undefined)
    throw new GateError(
      'POLICY_INCOMPLETE',
      `no policy rule covers artifact ${JSON.stringify(artifactName)}`,
      {
        detail: { artifact: artifactName },
      },
    );
  return rule;
}

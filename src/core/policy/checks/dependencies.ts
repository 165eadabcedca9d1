/**
 * Check `dependencies` (5): each resolved dependency other than the source, with a digest,
 * meets the minimum level from the evidence handed in; an unknown dependency is level 0.
 * Exceptions apply until they expire; one that needs approval makes the outcome
 * NEEDS_APPROVAL (docs/checklist.md#row-24).
 */
import type { CheckResult, DigestSet, EvaluatedAttestation } from '../../model.ts';
import { nonSourceDependencies } from '../../provenance/evidence-facts.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import { compileAnchored } from '../anchored-pattern.ts';
import type { DependencyException, LevelEvidence, PolicyRule } from '../policy-rule.ts';
import { fail, pass, skipped } from '../check-result.ts';

function sharesDigest(a: DigestSet, b: DigestSet): boolean {
  return Object.entries(a).some(
    ([alg, value]) => b[alg] !== undefined && b[alg].toLowerCase() === value.toLowerCase(),
  );
}

function exceptionApplies(ex: DependencyException, name: string, now: Date): boolean {
  const matches =
    ex.pattern.startsWith('^') && ex.pattern.endsWith('$')
      ? compileAnchored(ex.pattern).test(name)
      : ex.pattern === name;
  return matches && Date.parse(ex.expires) > now.getTime();
}

/** The dependencies check for one provenance. */
export function checkDependencies(
  rule: PolicyRule,
  att: EvaluatedAttestation,
  provenance: Provenance,
  levels: LevelEvidence | undefined,
  now: Date,
): CheckResult {
  const evidence = [att.digest];
  const want = rule.dependencies;
  if (want === undefined || want.minLevel === 0)
    return skipped('dependencies', 'no minimum dependency level', evidence);
  const deps = nonSourceDependencies(provenance.resolvedDependencies, provenance.source?.uri);
  const failures: string[] = [];
  const used = [...evidence];
  let needsApproval = false;
  let lowest = 4;
  for (const dep of deps) {
    const name = dep.uri ?? dep.name ?? JSON.stringify(dep.digest);
    const known = (levels?.dependencies ?? []).filter(
      (e) =>
        sharesDigest(e.digest, dep.digest) &&
        (e.uri === undefined || dep.uri === undefined || e.uri === dep.uri),
    );
    const best = known.reduce<(typeof known)[number] | undefined>(
      (b, e) => (b === undefined || e.level > b.level ? e : b),
      undefined,
    );
    const level = best?.level ?? 0;
    if (best !== undefined) used.push(...best.evidence);
    if (level >= want.minLevel) {
      lowest = Math.min(lowest, level);
      continue;
    }
    const ex = want.exceptions.find((e) => exceptionApplies(e, name, now));
    if (ex !== undefined) {
      needsApproval ||= ex.requireApproval;
      used.push(`exception:${ex.pattern}`);
      continue;
    }
    failures.push(`${name} is L${level}${best === undefined ? ' (no evidence)' : ''}`);
  }
  if (failures.length > 0)
    return fail(
      'dependencies',
      'DEP_LEVEL_INSUFFICIENT',
      `${att.origin}: dependencies below L${want.minLevel}: ${failures.join('; ')}`,
      used,
    );
  const reason =
    deps.length === 0
      ? 'no resolved dependencies besides the source'
      : `${deps.length} dependencies at L${want.minLevel} or above, or excepted`;
  const extra: { level?: number; needsApproval?: boolean } = {};
  if (lowest < 4 || deps.length > 0) extra.level = Math.min(lowest, 4);
  if (needsApproval) extra.needsApproval = true;
  return pass('dependencies', reason, used, extra);
}

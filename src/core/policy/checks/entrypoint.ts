/**
 * Check `entrypoint` (4): buildType, entry point and external parameters are the expected
 * ones. Known buildTypes have strict parameter schemas; anything else is rejected unless the
 * rule allows unknown parameters (SLSA v1 §externalParameters, docs/checklist.md#row-23).
 */
import type { CheckResult, EvaluatedAttestation } from '../../model.ts';
import {
  EXTERNAL_PARAMETER_SCHEMAS,
  isKnownBuildType,
} from '../../provenance/build-types/known-build-types.ts';
import { formatIssues } from '../../formats/format-issues.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import type { PolicyRule } from '../policy-rule.ts';
import { fail, pass } from '../check-result.ts';

/** slsa-verifier common.GetAsString: strings as they are, numbers and booleans printed. */
function inputAsString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The entrypoint check for one provenance. */
export function checkEntrypoint(
  rule: PolicyRule,
  att: EvaluatedAttestation,
  provenance: Provenance,
): CheckResult {
  const evidence = [att.digest];
  const want = rule.entrypoint;
  const at = att.origin;
  if (want.buildTypes !== undefined && !want.buildTypes.includes(provenance.buildType))
    return fail(
      'entrypoint',
      'ENTRYPOINT_MISMATCH',
      `${at}: buildType ${JSON.stringify(provenance.buildType)} is not ${want.buildTypes.join(' or ')}`,
      evidence,
    );
  if (want.entryPoints !== undefined && !want.entryPoints.includes(provenance.entryPoint ?? '\0'))
    return fail(
      'entrypoint',
      'ENTRYPOINT_MISMATCH',
      `${at}: entry point ${JSON.stringify(provenance.entryPoint)} is not ${want.entryPoints.join(' or ')}`,
      evidence,
    );
  if (!want.allowUnknownParameters) {
    if (!isKnownBuildType(provenance.buildType))
      return fail(
        'entrypoint',
        'ENTRYPOINT_MISMATCH',
        `${at}: buildType ${JSON.stringify(provenance.buildType)} has no known parameter schema and the rule does not allow unknown parameters`,
        evidence,
      );
    const schema = EXTERNAL_PARAMETER_SCHEMAS[provenance.buildType]!;
    const parsed = schema.safeParse(provenance.externalParameters);
    if (!parsed.success)
      return fail(
        'entrypoint',
        'ENTRYPOINT_MISMATCH',
        `${at}: unexpected external parameters for ${provenance.buildType}:\n${formatIssues(parsed.error, 'externalParameters')}`,
        evidence,
      );
  }
  for (const [name, value] of Object.entries(want.workflowInputs ?? {})) {
    const got = inputAsString(provenance.workflowInputs?.[name]);
    if (got !== value)
      return fail(
        'entrypoint',
        'ENTRYPOINT_MISMATCH',
        `${at}: workflow input ${name}=${JSON.stringify(got)}, expected ${JSON.stringify(value)}`,
        evidence,
      );
  }
  return pass(
    'entrypoint',
    `${provenance.buildType} ${provenance.entryPoint ?? '(no entry point)'}`,
    evidence,
  );
}

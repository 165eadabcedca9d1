/** Constructors for CheckResult, so every check reports the same way. */
import type { ErrorCode } from '../errors.ts';
import type { CheckId, CheckResult } from '../model.ts';

/** A passing check. */
export function pass(
  id: CheckId,
  reason: string,
  evidence: string[],
  extra: { level?: number; needsApproval?: boolean } = {},
): CheckResult {
  return { id, result: 'PASS', reason, evidence, ...extra };
}

/** A failing check with its code. */
export function fail(
  id: CheckId,
  code: ErrorCode,
  reason: string,
  evidence: string[],
  level?: number,
): CheckResult {
  return level === undefined
    ? { id, result: 'FAIL', code, reason, evidence }
    : { id, result: 'FAIL', code, reason, evidence, level };
}

/** A check the rule does not ask for (or cannot apply). */
export function skipped(id: CheckId, reason: string, evidence: string[] = []): CheckResult {
  return { id, result: 'SKIPPED', reason, evidence };
}

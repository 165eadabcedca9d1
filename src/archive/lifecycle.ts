import * as z from 'zod';
import type { Outcome } from '../core/model.ts';

/** Where a decision is in its life; the only mutable part of a decision record. */
export const DecisionStatusSchema = z.enum([
  'decided',
  'awaiting-approval',
  'approved',
  'rejected',
  'expired',
  'published',
  'denied',
  'cancelled',
  // Ends no workflow code ran to record: archived afterwards from the run's history (the reaper).
  'terminated',
  'timed-out',
]);
export type DecisionStatus = z.infer<typeof DecisionStatusSchema>;

/** How a run ended without its workflow code saying so: terminated or timed out in Temporal. */
const FORCED_ENDS = ['terminated', 'timed-out'] as const;

/** Legal moves. Every status but `decided`, `awaiting-approval` and `approved` is final. */
const NEXT: Record<DecisionStatus, readonly DecisionStatus[]> = {
  decided: ['awaiting-approval', 'published', 'denied', 'cancelled', ...FORCED_ENDS],
  // `denied` or `cancelled` from anywhere before publishing: a pipeline failure or a
  // cancellation stops a publish at any step (publishing itself is not cancellable). A
  // termination or a timeout can stop a run anywhere, the copy included.
  'awaiting-approval': ['approved', 'rejected', 'expired', 'denied', 'cancelled', ...FORCED_ENDS],
  approved: ['published', 'denied', 'cancelled', ...FORCED_ENDS],
  rejected: [],
  expired: [],
  published: [],
  denied: [],
  cancelled: [],
  terminated: [],
  'timed-out': [],
};

/** Whether a decision in this status has its end archived (nothing moves it any more). */
export function isFinalStatus(status: DecisionStatus): boolean {
  return NEXT[status].length === 0;
}

/**
 * Why `from → to` is not allowed for a decision with this outcome, or undefined when it is.
 * Fail closed: only a PASSED decision publishes straight from `decided`, and only a
 * NEEDS_APPROVAL decision waits for (and may receive) an approval.
 */
export function transitionRefusal(
  outcome: Outcome,
  from: DecisionStatus,
  to: DecisionStatus,
): string | undefined {
  if (!NEXT[from].includes(to)) return `${from} → ${to} is not a legal transition`;
  if (from === 'decided' && to === 'published' && outcome !== 'PASSED')
    return `a ${outcome} decision cannot be published without approval`;
  if (to === 'awaiting-approval' && outcome !== 'NEEDS_APPROVAL')
    return `a ${outcome} decision does not wait for approval`;
  return undefined;
}

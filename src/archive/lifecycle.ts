import { z } from 'zod';
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
]);
export type DecisionStatus = z.infer<typeof DecisionStatusSchema>;

/** Legal moves. `rejected`, `expired`, `published`, `denied` and `cancelled` are final. */
const NEXT: Record<DecisionStatus, readonly DecisionStatus[]> = {
  decided: ['awaiting-approval', 'published', 'denied', 'cancelled'],
  // `denied` or `cancelled` from anywhere before publishing: a pipeline failure or a
  // cancellation stops a publish at any step (publishing itself is not cancellable).
  'awaiting-approval': ['approved', 'rejected', 'expired', 'denied', 'cancelled'],
  approved: ['published', 'denied', 'cancelled'],
  rejected: [],
  expired: [],
  published: [],
  denied: [],
  cancelled: [],
};

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

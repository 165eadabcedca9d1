import { proxyActivities } from '@temporalio/workflow';
import type { DriftNotice } from '../consumers/drift-notice.ts';
import type { createActivities } from '../activities/index.ts';

/**
 * Delivery is retried until the receiver accepts it, for a week: a receiver that is down loses
 * no notice, and the monitor's own runs never wait on it (this run is started abandoned).
 */
const notices = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '15 minutes' },
});

/**
 * Announces one new drift finding to the operator's receiver. Its workflow id is the delivery
 * id (driftNoticeId): Temporal starts it once per finding and first sighting, whichever
 * monitor run or retry asks (docs/consumers.md#drift-notifications).
 */
export async function deliverDriftNotice(notice: DriftNotice): Promise<{ delivered: boolean }> {
  return notices.deliverDriftNotice(notice);
}

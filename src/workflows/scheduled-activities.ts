import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';

/**
 * Activities as the scheduled workflows (the drift monitor, the reaper) call them: each call
 * is short and heartbeats, and a store or registry outage is retried a few times; what is
 * left over waits for the next scheduled run.
 */
export const scheduledActivities = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Polling a publish workflow's `progress` query, for the crash, outage and denial tests. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { PublishProgress } from '../../src/workflows/contract.ts';

/**
 * Queries `progress` up to 240 times, 250 ms apart, until its status is `status`; returns the
 * last progress seen (undefined if no query answered). A failed query (the first workflow task
 * not yet run) is tried again, or with `queryErrors: 'throw'` rejects at once.
 */
export async function pollProgress(
  handle: WorkflowHandle,
  status: PublishProgress['status'],
  opts: { queryErrors: 'retry' | 'throw' },
): Promise<PublishProgress | undefined> {
  let last: PublishProgress | undefined;
  for (let i = 0; i < 240; i++) {
    try {
      last = await handle.query<PublishProgress>('progress');
    } catch (err) {
      if (opts.queryErrors === 'throw') throw err;
    }
    if (last?.status === status) return last;
    await sleep(250);
  }
  return last;
}

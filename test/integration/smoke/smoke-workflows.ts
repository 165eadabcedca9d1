import { proxyActivities } from '@temporalio/workflow';
import type { createSmokeActivities } from './smoke-activities.ts';

const { greet } = proxyActivities<ReturnType<typeof createSmokeActivities>>({ startToCloseTimeout: '10s' });

/** A trivial workflow proving that the Temporal server and a real Worker execute code. */
export async function smokeWorkflow(name: string): Promise<string> {
  return `${await greet(name)} via workflow`;
}

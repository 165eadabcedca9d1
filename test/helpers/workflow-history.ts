/** What a workflow's recorded history says about its activities, for crash and retry tests. */
import type { WorkflowHandle } from '@temporalio/client';

/** One scheduled activity: its type, the attempt its ActivityTaskStarted recorded, and how it closed. */
export interface ActivityRun {
  name: string;
  /** From ActivityTaskStarted (written when the activity closes: the last attempt's number). */
  attempt?: number;
  closed?: 'completed' | 'failed' | 'timedOut' | 'canceled';
  failureType?: string;
}

/** Every activity the workflow scheduled, in order. */
export async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const history = await handle.fetchHistory();
  const bySchedule = new Map<string, ActivityRun>();
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) bySchedule.set(id, { name: scheduled.activityType?.name ?? '' });
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const run = bySchedule.get(String(started.scheduledEventId));
      if (run) run.attempt = started.attempt ?? undefined;
    }
    const close = (
      attrs: { scheduledEventId?: unknown } | null | undefined,
      closed: ActivityRun['closed'],
      failureType?: string,
    ) => {
      const run = attrs && bySchedule.get(String(attrs.scheduledEventId));
      if (run) {
        run.closed = closed;
        if (failureType) run.failureType = failureType;
      }
    };
    close(event.activityTaskCompletedEventAttributes, 'completed');
    const failed = event.activityTaskFailedEventAttributes;
    close(failed, 'failed', failed?.failure?.applicationFailureInfo?.type ?? undefined);
    close(event.activityTaskTimedOutEventAttributes, 'timedOut');
    close(event.activityTaskCanceledEventAttributes, 'canceled');
  }
  return [...bySchedule.values()];
}

/** The runs of one activity type. */
export async function runsOf(handle: WorkflowHandle, name: string): Promise<ActivityRun[]> {
  return (await activityRuns(handle)).filter((r) => r.name === name);
}

/** The server's view of a running activity: its attempt and the type of its last failure. */
export async function pendingActivity(
  handle: WorkflowHandle,
  name: string,
): Promise<{ attempt: number; lastFailureType?: string } | undefined> {
  const { raw } = await handle.describe();
  const pending = raw.pendingActivities?.find((p) => p.activityType?.name === name);
  if (!pending) return undefined;
  const type = pending.lastFailure?.applicationFailureInfo?.type;
  return { attempt: pending.attempt ?? 0, ...(type ? { lastFailureType: type } : {}) };
}

/** Polls until the activity has been attempted at least `attempt` times (it failed `attempt - 1` times). */
export async function waitForAttempt(
  handle: WorkflowHandle,
  name: string,
  attempt: number,
  seconds = 90,
): Promise<{ attempt: number; lastFailureType?: string }> {
  const deadline = Date.now() + seconds * 1000;
  let last: Awaited<ReturnType<typeof pendingActivity>>;
  while (Date.now() < deadline) {
    last = await pendingActivity(handle, name);
    if (last && last.attempt >= attempt) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${name} never reached attempt ${attempt}; last seen ${JSON.stringify(last)}`);
}

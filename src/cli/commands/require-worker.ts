import { GateError } from '../../core/errors.ts';
import type { TemporalClientSession } from '../../config/temporal-client.ts';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW: the queue workflow workers poll. */
const WORKFLOW_TASK_QUEUE_TYPE = 1;

/**
 * TEMPORAL_UNAVAILABLE naming the task queue when no worker has polled it lately: a run there
 * cannot move, and anything sent to it would wait for a worker that may never come.
 * `consequence` says what that means for the caller ("the approve was not sent").
 */
export async function requireWorker(
  session: TemporalClientSession,
  taskQueue: string,
  consequence: string,
  seconds: number,
): Promise<void> {
  const { client } = session;
  const { pollers } = await session.within(seconds, `describing task queue ${taskQueue}`, () =>
    client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: WORKFLOW_TASK_QUEUE_TYPE,
    }),
  );
  if (!pollers || pollers.length === 0)
    throw new GateError(
      'TEMPORAL_UNAVAILABLE',
      `no worker polls task queue ${taskQueue}: ${consequence}; start a worker`,
      { detail: { taskQueue } },
    );
}

/**
 * A workflow interceptor module for a test Worker (`interceptors.workflowModules`): every Query
 * the worker handles is reported through the `queries` sink, so that a test counts the round
 * trips through Temporal to the worker that a client caused. Workflow code: it imports only
 * `@temporalio/workflow`.
 */
import { proxySinks, workflowInfo, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface QueryCountSinks extends Sinks {
  queries: { handled(workflowId: string, queryName: string): void };
}

const { queries } = proxySinks<QueryCountSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async handleQuery(input, next) {
        queries.handled(workflowInfo().workflowId, input.queryName);
        return await next(input);
      },
    },
  ],
});

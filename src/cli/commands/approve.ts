import { parseArgs } from 'node:util';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { GateError, isErrorCode } from '../../core/errors.ts';
import { loadConfig } from '../../config/config.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import type { PublishProgress } from '../../workflows/contract.ts';
import { approveUpdate, rejectUpdate } from '../../workflows/definitions.ts';
import type { Command } from './command.ts';
import { printProgress } from './progress-output.ts';

function verdictCommand(verdict: 'approve' | 'reject'): Command {
  return {
    async run(args) {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          reason: { type: 'string' },
          approver: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) {
        console.log(
          `Usage: slsa-gate ${verdict} <workflow-id> --reason TEXT [--approver NAME] [--json]\n\n` +
            'Sends the verdict straight to Temporal, with no verified identity: the workflow refuses it\n' +
            'unless the operator set SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS. People and CI approve through\n' +
            `the API (POST /api/v1/publishes/<workflow-id>/${verdict}), which verifies who they are.`,
        );
        return 0;
      }
      const workflowId = positionals[0];
      if (!workflowId || !values.reason?.trim()) {
        throw new GateError('INPUT_INVALID', `usage: slsa-gate ${verdict} <workflow-id> --reason TEXT`);
      }
      const approver = values.approver ?? process.env.SLSA_GATE_USER ?? process.env.USER ?? 'unknown';
      const config = loadConfig();
      const { client, close } = await connectClient(config);
      try {
        const handle = client.workflow.getHandle(workflowId);
        let progress: PublishProgress;
        try {
          // A closed run says how it ended, with a code (a cancelled one: CANCELLED), not a stack trace.
          const { status } = await handle.describe();
          if (status.name !== 'RUNNING')
            throw new GateError(
              status.name === 'CANCELLED' || status.name === 'TERMINATED' ? 'CANCELLED' : 'INPUT_INVALID',
              `${verdict} refused: workflow ${workflowId} is ${status.name}`,
            );
          progress = await handle.executeUpdate(verdict === 'approve' ? approveUpdate : rejectUpdate, {
            args: [{ approver, reason: values.reason }],
          });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new GateError('INPUT_INVALID', `${verdict} refused: no workflow ${workflowId}`);
          if (err instanceof WorkflowUpdateFailedError) {
            const cause = err.cause;
            const message = cause?.message ?? err.message;
            const type = cause instanceof ApplicationFailure ? cause.type : undefined;
            // The workflow refuses with a failure whose type is our code.
            throw new GateError(isErrorCode(type) ? type : 'INPUT_INVALID', `${verdict} refused: ${message}`);
          }
          throw err;
        }
        const description = await handle.describe();
        printProgress(progress, {
          json: values.json,
          uiUrl: workflowUiUrl(config, workflowId, description.runId),
        });
        return 0;
      } finally {
        await close();
      }
    },
  };
}

export const approveCommand = verdictCommand('approve');
export const rejectCommand = verdictCommand('reject');

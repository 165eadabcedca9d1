import { parseArgs } from 'node:util';
import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
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
        console.log(`Usage: slsa-gate ${verdict} <workflow-id> --reason TEXT [--approver NAME] [--json]`);
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
          progress = await handle.executeUpdate(verdict === 'approve' ? approveUpdate : rejectUpdate, {
            args: [{ approver, reason: values.reason }],
          });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) {
            // The workflow refuses with a failure whose type is our code.
            const type = err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
            const message = err.cause?.message ?? err.message;
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

import { parseArgs } from 'node:util';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { GateError } from '../../core/errors.ts';
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
            const message = err.cause?.message ?? err.message;
            const code = message.startsWith('APPROVER_NOT_ALLOWED')
              ? 'APPROVER_NOT_ALLOWED'
              : 'INPUT_INVALID';
            throw new GateError(code, `${verdict} refused: ${message}`);
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

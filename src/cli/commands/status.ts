import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import { loadConfig } from '../../config/config.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import { progressQuery } from '../../workflows/definitions.ts';
import type { Command } from './command.ts';
import { printProgress } from './progress-output.ts';
import { exitCodeOfResult } from '../exit-codes.ts';

export const statusCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log('Usage: slsa-gate status <workflow-id> [--json]');
      return 0;
    }
    const workflowId = positionals[0];
    if (!workflowId) throw new GateError('INPUT_INVALID', 'usage: slsa-gate status <workflow-id>');
    const config = loadConfig();
    const { client, close } = await connectClient(config);
    try {
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe();
      // A terminated run ran no workflow code to record its end: say so instead of its last progress.
      if (description.status.name === 'TERMINATED')
        throw new GateError('CANCELLED', `workflow ${workflowId} was terminated`);
      const progress = await handle.query(progressQuery);
      printProgress(progress, {
        json: values.json,
        uiUrl: workflowUiUrl(config, workflowId, description.runId),
      });
      if (progress.result) return exitCodeOfResult(progress.result);
      return progress.status === 'AwaitingApproval' ? 3 : 0;
    } finally {
      await close();
    }
  },
};

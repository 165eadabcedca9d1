import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import { loadConfig } from '../../config/config.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import type { Command } from './command.ts';
import { printProgress } from './progress-output.ts';
import { EXIT, exitCodeOfResult } from '../exit-codes.ts';
import { archiveOnFirstUse, DEFAULT_QUERY_SECONDS, readProgress } from './read-progress.ts';
import { requireWorker } from './require-worker.ts';
import { secondsOption } from './seconds-option.ts';

const USAGE = `Usage: slsa-gate status <workflow-id> [--timeout SECONDS] [--json]

A finished publish is read from its result in Temporal's history, a running one from its
description (status, memo) and the archived decision: no worker needed. Temporal must answer
within --timeout (default ${DEFAULT_QUERY_SECONDS} s), else TEMPORAL_UNAVAILABLE.
Exit: ${EXIT.PUBLISHED} published or in progress, ${EXIT.DENIED} denied, ${EXIT.INPUT} input error, ${EXIT.PENDING} awaiting approval,
      ${EXIT.UNAVAILABLE} no answer (Temporal, the store), ${EXIT.CANCELLED} cancelled or terminated.`;

export const statusCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const workflowId = positionals[0];
    if (!workflowId || positionals.length > 1)
      throw new GateError('INPUT_INVALID', 'usage: slsa-gate status <workflow-id>');
    const seconds = secondsOption(values.timeout, DEFAULT_QUERY_SECONDS);
    const config = loadConfig();
    const session = await connectClient(config);
    const archive = archiveOnFirstUse(config);
    try {
      const { progress, runId, taskQueue } = await readProgress(session, archive, workflowId, seconds);
      // A running step needs a worker: "in progress" with none polling would tell a pipeline to
      // keep waiting for a run that cannot move. A run awaiting approval waits for people.
      if (!progress.result && progress.status !== 'AwaitingApproval')
        await requireWorker(session, taskQueue, `run ${runId} cannot progress`, seconds);
      printProgress(progress, {
        json: values.json,
        uiUrl: workflowUiUrl(config, workflowId, runId),
        workflowId,
      });
      if (progress.result) return exitCodeOfResult(progress.result);
      return progress.status === 'AwaitingApproval' ? EXIT.PENDING : EXIT.PUBLISHED;
    } finally {
      await archive.close();
      await session.close();
    }
  },
};

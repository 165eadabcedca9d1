import { parseArgs } from 'node:util';
import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { GateError, isErrorCode, isGateError } from '../../core/errors.ts';
import { loadConfig } from '../../config/config.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import type { PublishProgress } from '../../workflows/contract.ts';
import { approveUpdate, rejectUpdate } from '../../workflows/definitions.ts';
import { EXIT } from '../exit-codes.ts';
import type { Command } from './command.ts';
import { printProgress } from './progress-output.ts';
import { requireWorker } from './require-worker.ts';
import { secondsOption } from './seconds-option.ts';

/** How long a verdict waits, by default, for a worker to take it and for its effect. */
const DEFAULT_VERDICT_SECONDS = 30;

function verdictCommand(verdict: 'approve' | 'reject'): Command {
  return {
    async run(args) {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          reason: { type: 'string' },
          approver: { type: 'string' },
          timeout: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) {
        console.log(
          `Usage: slsa-gate ${verdict} <workflow-id> --reason TEXT [--approver NAME] [--timeout SECONDS] [--json]\n\n` +
            'Sends the verdict straight to Temporal, with no verified identity: the workflow refuses it\n' +
            'unless the operator set SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS. People and CI approve through\n' +
            `the API (POST /api/v1/publishes/<workflow-id>/${verdict}), which verifies who they are.\n\n` +
            `--timeout: how long to wait for a worker to take the verdict and for its effect (default\n` +
            `${DEFAULT_VERDICT_SECONDS} s). No worker polling the run's task queue: TEMPORAL_UNAVAILABLE at once,\n` +
            `nothing sent. No worker taking it in time: TEMPORAL_UNAVAILABLE (exit ${EXIT.UNAVAILABLE}). Taken, but the\n` +
            `publish not finished in time: exit ${EXIT.PENDING}, and \`slsa-gate status\` tells the rest.`,
        );
        return 0;
      }
      const workflowId = positionals[0];
      if (!workflowId || positionals.length > 1 || !values.reason?.trim()) {
        throw new GateError('INPUT_INVALID', `usage: slsa-gate ${verdict} <workflow-id> --reason TEXT`);
      }
      const seconds = secondsOption(values.timeout, DEFAULT_VERDICT_SECONDS);
      const until = Date.now() + seconds * 1000;
      const left = () => Math.max(1, Math.ceil((until - Date.now()) / 1000));
      const approver = values.approver ?? process.env.SLSA_GATE_USER ?? process.env.USER ?? 'unknown';
      const config = loadConfig();
      const session = await connectClient(config);
      try {
        // A closed run says how it ended, with a code (a cancelled one: CANCELLED), not a stack trace.
        const { status, runId, taskQueue } = await session.within(
          left(),
          `reading workflow ${workflowId}`,
          () => session.client.workflow.getHandle(workflowId).describe(),
        );
        if (status.name !== 'RUNNING')
          throw new GateError(
            status.name === 'CANCELLED' || status.name === 'TERMINATED' ? 'CANCELLED' : 'INPUT_INVALID',
            `${verdict} refused: workflow ${workflowId} is ${status.name}`,
          );
        await requireWorker(
          session,
          taskQueue,
          `the ${verdict} was not sent; send it again once one polls`,
          left(),
        );
        // To the run just described: if a new run took its place meanwhile, the Update fails.
        const run = session.client.workflow.getHandle(workflowId, runId);
        const uiUrl = workflowUiUrl(config, workflowId, runId);
        let progress: PublishProgress;
        try {
          const update = await session
            .within(left(), `the ${verdict}`, () =>
              run.startUpdate(verdict === 'approve' ? approveUpdate : rejectUpdate, {
                args: [{ approver, reason: values.reason! }],
                waitForStage: WorkflowUpdateStage.ACCEPTED,
              }),
            )
            .catch((err: unknown) => {
              if (!isGateError(err) || err.code !== 'TEMPORAL_UNAVAILABLE') throw err;
              throw new GateError(
                'TEMPORAL_UNAVAILABLE',
                `no worker took the ${verdict} within ${seconds} s (task queue ${taskQueue}); it may still ` +
                  `reach the run if a worker takes it later: check with slsa-gate status '${workflowId}'`,
                { detail: { taskQueue, seconds } },
              );
            });
          try {
            progress = await session.within(left(), `the ${verdict}`, () => update.result());
          } catch (err) {
            if (!isGateError(err) || err.code !== 'TEMPORAL_UNAVAILABLE') throw err;
            // Taken by the run, which is still at work on it (the copy to the release repository).
            console.log(
              `${verdict} accepted by ${workflowId}; not finished within ${seconds} s: ` +
                `slsa-gate status '${workflowId}'\nTemporal UI: ${uiUrl}`,
            );
            return EXIT.PENDING;
          }
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) {
            const cause = err.cause;
            const message = cause?.message ?? err.message;
            const type = cause instanceof ApplicationFailure ? cause.type : undefined;
            // The workflow refuses with a failure whose type is our code.
            throw new GateError(isErrorCode(type) ? type : 'INPUT_INVALID', `${verdict} refused: ${message}`);
          }
          throw err;
        }
        printProgress(progress, { json: values.json, uiUrl, workflowId });
        return EXIT.PUBLISHED;
      } finally {
        await session.close();
      }
    },
  };
}

export const approveCommand = verdictCommand('approve');
export const rejectCommand = verdictCommand('reject');

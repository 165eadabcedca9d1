/**
 * `slsa-gate cancel <workflow id>`: asks Temporal to cancel a publish run. An operator command:
 * like the Temporal UI and `temporal workflow cancel`, it needs the operator's own access to
 * Temporal (TEMPORAL_ADDRESS and its credentials), which no CI job holds; the API offers no
 * cancel (docs/operations.md#cancelling-a-publish). The run archives its cancellation as every
 * cancelled run does (docs/security-model.md#how-a-run-ends) and ends CANCELLED: `status` and a
 * joining `publish` then exit 5.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/config.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import { GateError } from '../../core/errors.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate cancel <workflow-id> [--json]

Cancel a publish run (an operator command: it needs direct access to Temporal). The run
records its cancellation in the archive and ends CANCELLED; a run past the copy to the
release repository finishes that copy first.
Exit: 0 cancellation requested, 2 no such workflow or a run already ended, 4 Temporal unavailable.`;

export const cancelCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const workflowId = positionals[0];
    if (workflowId === undefined || positionals.length > 1)
      throw new GateError('INPUT_INVALID', `give exactly one workflow id\n\n${USAGE}`);
    const config = loadConfig();
    const { client, close } = await connectClient(config);
    try {
      const handle = client.workflow.getHandle(workflowId);
      // An unknown workflow id is NOT_FOUND (src/config/coded-error.ts), exit 2.
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING')
        throw new GateError(
          'INPUT_INVALID',
          `workflow ${workflowId} has already ended (${description.status.name}): nothing to cancel`,
        );
      const runId = description.runId;
      await client.workflow.getHandle(workflowId, runId).cancel();
      const uiUrl = workflowUiUrl(config, workflowId, runId);
      if (values.json) console.log(JSON.stringify({ workflowId, runId, cancelRequested: true, uiUrl }));
      else console.log(`cancellation requested: ${workflowId}\nTemporal UI: ${uiUrl}`);
      return 0;
    } finally {
      await close();
    }
  },
};

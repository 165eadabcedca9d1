import { parseArgs } from 'node:util';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate worker

Runs the publish worker: the publish workflow and its activities, on the task queue and
Temporal server the environment names (docs/operations.md). Runs until SIGINT or SIGTERM.`;

/** `slsa-gate worker`: the worker entry point of an installed package (src/workers/main.ts). */
export const workerCommand: Command = {
  async run(args) {
    const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const { main } = await import('../../workers/main.ts');
    return main();
  },
};

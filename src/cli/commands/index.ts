import { auditCommands } from './audit.ts';
import type { Command } from './command.ts';
import { versionCommand } from './version.ts';

/** Every subcommand, by the words that invoke it. */
export const commands: Record<string, Command> = {
  version: versionCommand,
  ...auditCommands,
};

import { approveCommand, rejectCommand } from './approve.ts';
import { auditCommands } from './audit.ts';
import type { Command } from './command.ts';
import { conformanceVerifyBundleCommand } from './conformance.ts';
import { policyCheckCommand } from './policy.ts';
import { publishCommand } from './publish.ts';
import { statusCommand } from './status.ts';
import { verifyCommand } from './verify.ts';
import { trustRefreshCommand } from './trust.ts';
import { versionCommand } from './version.ts';

/** Every subcommand, by the words that invoke it. */
export const commands: Record<string, Command> = {
  version: versionCommand,
  verify: verifyCommand,
  'conformance verify-bundle': conformanceVerifyBundleCommand,
  'trust refresh': trustRefreshCommand,
  publish: publishCommand,
  approve: approveCommand,
  reject: rejectCommand,
  status: statusCommand,
  ...auditCommands,
  'policy check': policyCheckCommand,
};

/**
 * Checks shared by the deployment tests (docker-compose.yml, deploy/kubernetes): whether a
 * container's arguments are a slsa-gate command, and whether a variable it sets is one the code
 * reads. A variable nothing reads (REGISTRY_URL was one) makes an operator believe a setting is
 * in force when it is not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '../../src/cli/commands/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let code: string | undefined;

/** The text of src/ and of the Temporal SDK's environment configuration (the TEMPORAL_* variables). */
function codeText(): string {
  if (code !== undefined) return code;
  const texts: string[] = [];
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, d.name);
      if (d.isDirectory()) walk(path);
      else if (/\.(ts|js)$/.test(d.name)) texts.push(readFileSync(path, 'utf8'));
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'node_modules/@temporalio/envconfig/lib'));
  return (code = texts.join('\n'));
}

/** Whether the code names `variable` (as a whole word) anywhere it reads its configuration. */
export function codeReadsVariable(variable: string): boolean {
  return new RegExp(`\\b${variable}\\b`).test(codeText());
}

/** Whether `args` (the image's command) start with a slsa-gate command of the CLI's table. */
export function isGateCommand(args: readonly string[]): boolean {
  const words = args.filter((w) => !w.startsWith('-'));
  return words.slice(0, 2).join(' ') in commands || (words[0] !== undefined && words[0] in commands);
}

import { GateError } from '../core/errors.ts';
import { commands } from './commands/index.ts';

/** Whether `err` is one of node:util parseArgs' own errors (ERR_PARSE_ARGS_*). */
function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Exit codes shared by every subcommand. */
export const EXIT = { PASS: 0, FAIL: 1, USAGE: 2, PENDING: 3 } as const;

function usage(): string {
  const lines = ['Usage: slsa-gate <command> [options]', '', 'Commands:'];
  for (const [name, cmd] of Object.entries(commands)) lines.push(`  ${name.padEnd(24)}${cmd.summary}`);
  lines.push('', 'Run `slsa-gate <command> --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  // Subcommands may be two words (`audit list`, `conformance verify-bundle`): take the longest match.
  const two = argv.slice(0, 2).join(' ');
  const name = two in commands ? two : argv[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? EXIT.USAGE : EXIT.PASS;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`slsa-gate: unknown command '${name}'\n\n${usage()}`);
    return EXIT.USAGE;
  }
  const rest = argv.slice(name.split(' ').length);
  // A one-shot command parses each document once, where zod's JIT (a parser generated per object
  // schema at its first parse) costs more than it saves; the setting applies to schemas built
  // after it, so it comes before the command's modules load (docs/benchmarks.md#cli).
  if (!entry.server) (await import('zod')).z.config({ jitless: true });
  try {
    return await (await entry.load()).run(rest);
  } catch (err) {
    if (err instanceof GateError) {
      console.error(`slsa-gate: ${err.code}: ${err.message}`);
      // Whether it is the caller's input decides the table (src/core/errors.ts), not a list here.
      return err.layer === 'input' ? EXIT.USAGE : EXIT.FAIL;
    }
    // Any parseArgs error (missing value, unknown option, `--flag=value` on a boolean, a stray argument) is an input error.
    if (isParseArgsError(err)) {
      console.error(`slsa-gate: INPUT_INVALID: ${name}: ${err.message}`);
      return EXIT.USAGE;
    }
    // No stack trace reaches a user; SLSA_GATE_DEBUG=1 prints it for a bug report.
    console.error(
      `slsa-gate: unexpected error in ${name}: ${err instanceof Error ? err.message : String(err)}`,
    );
    if (process.env.SLSA_GATE_DEBUG === '1' && err instanceof Error) console.error(err.stack);
    return EXIT.FAIL;
  }
}

process.exitCode = await main(process.argv.slice(2));

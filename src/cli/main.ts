import { asGateError } from '../config/coded-error.ts';
import { commands } from './commands/index.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';

/** Whether `err` is one of node:util parseArgs' own errors (ERR_PARSE_ARGS_*). */
function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function usage(): string {
  const lines = ['Usage: slsa-gate <command> [options]', '', 'Commands:'];
  // The widest name sets the column, so no name runs into its summary.
  const width = Math.max(...Object.keys(commands).map((name) => name.length)) + 2;
  for (const [name, cmd] of Object.entries(commands)) lines.push(`  ${name.padEnd(width)}${cmd.summary}`);
  lines.push(
    '',
    'Run `slsa-gate <command> --help` for the options of a command; `slsa-gate --version` for the version.',
    '',
    `Exit: ${EXIT.PUBLISHED} published or passed, ${EXIT.DENIED} denied, ${EXIT.INPUT} input error, ${EXIT.PENDING} awaiting approval,`,
    `      ${EXIT.UNAVAILABLE} infrastructure unavailable (Temporal, registry, store), ${EXIT.CANCELLED} cancelled (docs/ci.md#exit-codes).`,
  );
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  // Subcommands may be two words (`audit list`, `conformance verify-bundle`): take the longest match.
  const two = argv.slice(0, 2).join(' ');
  const name = two in commands ? two : argv[0] === '--version' || argv[0] === '-V' ? 'version' : argv[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? EXIT.INPUT : EXIT.PUBLISHED;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`slsa-gate: INPUT_INVALID: unknown command '${name}'\n\n${usage()}`);
    return EXIT.INPUT;
  }
  const rest = argv.slice(name.split(' ').length);
  // One-shot commands parse without zod's JIT; servers keep it (src/cli/zod-jitless.ts).
  if (!entry.server) await import('./zod-jitless.ts');
  try {
    return await (await entry.load()).run(rest);
  } catch (err) {
    // Any parseArgs error (missing value, unknown option, `--flag=value` on a boolean, a stray argument) is an input error.
    if (isParseArgsError(err)) {
      console.error(`slsa-gate: INPUT_INVALID: ${name}: ${err.message}`);
      return EXIT.INPUT;
    }
    // Every error leaves as one coded line (src/config/coded-error.ts), never a stack trace;
    // SLSA_GATE_DEBUG=1 adds the original error's stack for a bug report.
    const coded = asGateError(err);
    const where = coded.code === 'INTERNAL_ERROR' ? `${name}: ` : '';
    console.error(`slsa-gate: ${coded.code}: ${where}${coded.message}`);
    if (process.env.SLSA_GATE_DEBUG === '1' && err instanceof Error) console.error(err.stack);
    // The code's layer decides the exit code (src/cli/exit-codes.ts), not a list here.
    return exitCodeOf(coded.code);
  }
}

process.exitCode = await main(process.argv.slice(2));

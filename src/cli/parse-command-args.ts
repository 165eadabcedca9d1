/**
 * `node:util` parseArgs with its errors turned into coded input errors: a missing option
 * value, an unknown option, `--json=yes` or a stray argument exits 2 naming the command
 * and the argument, never with a stack trace (issue 11 §10).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GateError } from '../core/errors.ts';

/** Whether `err` is one of parseArgs' own errors (ERR_PARSE_ARGS_*). */
export function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** parseArgs for `command`; its errors become INPUT_INVALID naming the command. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T) {
  try {
    return parseArgs(config);
  } catch (err) {
    if (!isParseArgsError(err)) throw err;
    throw new GateError('INPUT_INVALID', `${command}: ${err.message}`, { detail: { command } });
  }
}

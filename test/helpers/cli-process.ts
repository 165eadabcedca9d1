/** The real slsa-gate CLI as a child process, for tests that check its exit status and output. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url));

export interface CliRun {
  /** The exit status; null when the process was killed (it ran past `killAfterMs`). */
  exit: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `slsa-gate ARGS` with `env` added to this process's environment. A run past
 * `killAfterMs` (default 150 s) is killed and reported with exit null: a command that would
 * wait for ever fails its test instead of hanging it.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; killAfterMs?: number } = {},
): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      {
        env: { ...process.env, ...options.env },
        ...(options.cwd ? { cwd: options.cwd } : {}),
        timeout: options.killAfterMs ?? 150_000,
        maxBuffer: 32 << 20,
      },
      (err, stdout, stderr) => {
        const failed = err as (Error & { code?: unknown; killed?: boolean }) | null;
        const exit = failed === null ? 0 : failed.killed ? null : Number(failed.code);
        done({ exit, stdout, stderr });
      },
    );
  });
}

/** Whether the run's output holds something that looks like a stack trace. */
export function hasStackTrace(run: CliRun): boolean {
  return /\n\s+at .+:\d+:\d+/.test(run.stderr + run.stdout);
}

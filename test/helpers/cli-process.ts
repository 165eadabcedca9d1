/** The `slsa-gate` command as a process (bin/slsa-gate.js), for tests of what a user runs. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '../../bin/slsa-gate.js');

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
  options: { env?: NodeJS.ProcessEnv; cwd?: string; killAfterMs?: number } = {},
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

/** Runs `slsa-gate ARGS…` with `env`; its exit code and output, whatever the code. */
export async function runSlsaGate(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const run = await runCli(args, { env });
  return { code: run.exit ?? -1, out: run.stdout, err: run.stderr };
}

/** Whether the run's output holds something that looks like a stack trace. */
export function hasStackTrace(run: CliRun): boolean {
  return /\n\s+at .+:\d+:\d+/.test(run.stderr + run.stdout);
}

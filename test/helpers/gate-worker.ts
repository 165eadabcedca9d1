/**
 * The worker as an operator runs it (`slsa-gate worker`, the built package entry point), as a
 * child process: its JSON log lines (standard output) and its human lines (standard error)
 * are kept for the test to read.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url));

export interface GateWorker {
  /** Standard output, one entry per line (the JSON log). */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first standard-error line (past or future) matching `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit. */
  stop(): Promise<void>;
}

export function startGateWorker(env: Record<string, string>): GateWorker {
  const child = spawn(process.execPath, [bin, 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  const waiters = new Set<() => void>();
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    for (const w of waiters) w();
  });
  return {
    stdout,
    stderr,
    waitForStderr(pattern, timeoutMs = 300_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = stderr.find((l) => pattern.test(l));
          if (line === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the worker printed no line matching ${pattern}: ${stderr.join(' | ')}`));
        }, timeoutMs);
        if (check()) return;
        waiters.add(check);
        void exited.then(() => {
          if (waiters.delete(check)) {
            clearTimeout(timer);
            reject(new Error(`the worker exited before ${pattern}: ${stderr.join(' | ')}`));
          }
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A TCP port free on 127.0.0.1 at the time of asking (for listeners that cannot report theirs). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

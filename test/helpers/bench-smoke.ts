/**
 * Smoke runs of the benches (docs/benchmarks.md): a bench started as `npm run bench:…` starts
 * it, through scripts/run-ts.sh and the same entry point, at a tiny size. A smoke run checks
 * that the bench completes and prints each of its figures; the figures themselves mean nothing
 * at that size and nothing is timed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A figure as the benches print it: digits, maybe thousands separators and decimals. */
export const NUMBER = String.raw`\d[\d,]*(?:\.\d+)?`;

/**
 * Runs `bash scripts/run-ts.sh <script> <args…>` from the checkout and returns its standard
 * output; rejects, with both outputs, when it exits with anything but 0.
 */
export async function runBench(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', ['scripts/run-ts.sh', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (err) {
    const { code, stdout, stderr } = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(
      `${script} ${args.join(' ')} exited ${code}\n--- stdout\n${stdout ?? ''}\n--- stderr\n${stderr ?? ''}`,
    );
  }
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shell blocks of docs/consumers.md, as a consumer copies them: every ```sh block carries
 * `consumer-test=<id>` and some test runs it as written (docs/consumers.md#copy-paste-checks).
 */
const DOC = fileURLToPath(new URL('../../docs/consumers.md', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/slsa-gate.js', import.meta.url));

/** The tagged blocks of the page, in page order. */
export function consumerBlocks(): Array<{ id: string; script: string }> {
  const text = readFileSync(DOC, 'utf8');
  return [...text.matchAll(/^```sh consumer-test=([a-z0-9-]+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    id: m[1]!,
    script: m[2]!,
  }));
}

/** The block tagged `id`; throws when the page has none or more than one. */
export function consumerBlock(id: string): string {
  const found = consumerBlocks().filter((b) => b.id === id);
  if (found.length !== 1) throw new Error(`docs/consumers.md has ${found.length} sh blocks tagged ${id}`);
  return found[0]!.script;
}

/** The 1-based lines of ```sh fences that carry no `consumer-test=<id>` tag. */
export function untaggedShBlocks(): number[] {
  return readFileSync(DOC, 'utf8')
    .split('\n')
    .flatMap((line, i) =>
      /^```(sh|bash|shell)\b/.test(line) && !/ consumer-test=[a-z0-9-]+$/.test(line) ? [i + 1] : [],
    );
}

/**
 * Runs a script with bash as the page's reader would (`set -euo pipefail`), in `cwd` with exactly
 * `env`. Asynchronous: a server the script calls may serve from this process. Stdin is closed,
 * so bash does not take itself for a remote shell and read the system bashrc.
 */
export async function runConsumerBlock(script: string, cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

/**
 * A consumer's PATH: `dir/bin` with the slsa-gate CLI and `tools` (absolute paths, linked under
 * their own names), then node and the system's binaries (jq, curl, openssl, npm).
 */
export function consumerPath(dir: string, tools: string[] = []): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of [CLI, ...tools])
    symlinkSync(tool, join(bin, tool === CLI ? 'slsa-gate' : tool.split('/').pop()!));
  return `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`;
}

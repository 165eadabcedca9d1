import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A private distribution registry started by a test (auth configured), on a free loopback port. */
export interface RegistryProcess {
  url: string;
  host: string;
  dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `docker-registry serve` (the same distribution 2.8 the services run)
 * with `auth` as the YAML of its `auth:` section, written under a fresh
 * directory whose path the section can use as `{{dir}}`.
 */
export async function startRegistry(authYaml: (dir: string) => string): Promise<RegistryProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: ${join(dir, 'storage')}
http:
  addr: 127.0.0.1:${port}
auth:
${authYaml(dir)}
`,
  );
  // distribution logs every 404 at level error: keep the tail for a failed start only.
  const child: ChildProcess = spawn('docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      break;
    } catch (err) {
      if (i > 100 || child.exitCode !== null) {
        child.kill();
        throw new Error(`docker-registry did not start: ${log}`, { cause: err });
      }
      await sleep(100);
    }
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    dir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

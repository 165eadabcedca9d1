/**
 * Private instances of the real services for tests that stop or kill one: each on its own
 * free loopback port with its own data directory, so the shared services on the default
 * ports (used by other tests at the same time) are never touched.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const temporalCli = join(root, '.tools/venv/bin/temporal');
// The build scripts/services.sh makes (tools/ferretdb/build.sh: `_id` lookups by index).
const ferretdbBin = join(root, '.tools/bin/ferretdb-1.24.2-sqlite-id-index');
const SEARCH_ATTRIBUTES = [
  'ArtifactDigest=Keyword',
  'Repository=Keyword',
  'PublishStatus=Keyword',
  'BuilderId=Keyword',
  'SourceRepo=Keyword',
  'DriftFindings=Int',
  'DriftKinds=KeywordList',
];
export const OWN_NAMESPACE = 'slsa-gate';

/** A free TCP port on 127.0.0.1 (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`${what} did not become ready in ${seconds}s`);
}

/** One service process that can be started, killed and started again on the same port and data. */
export interface OwnService {
  readonly port: number;
  readonly logFile: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGKILL (no shutdown) or SIGTERM, and wait until the process is gone and the port closed. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

function ownService(opts: {
  name: string;
  dir: string;
  port: number;
  command: string;
  args: string[];
  ready: () => Promise<boolean>;
  readySeconds: number;
}): OwnService {
  let child: ChildProcess | undefined;
  let exited: Promise<void> | undefined;
  const logFile = join(opts.dir, `${opts.name}.log`);
  const service: OwnService = {
    port: opts.port,
    logFile,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) return;
      const log = openSync(logFile, 'a');
      // Its own process group, so that a kill reaches any child it forks.
      const started = spawn(opts.command, opts.args, { detached: true, stdio: ['ignore', log, log] });
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      void exited.then(() => {
        if (child === started) child = undefined;
      });
      try {
        await waitUntil(`${opts.name} on port ${opts.port} (log ${logFile})`, opts.readySeconds, async () => {
          if (child !== started) throw new Error(`${opts.name} exited at start (log ${logFile})`);
          return opts.ready();
        });
      } catch (err) {
        await service.kill();
        throw err;
      }
    },
    async kill(signal = 'SIGKILL') {
      const running = child;
      if (!running?.pid) return;
      try {
        process.kill(-running.pid, signal);
      } catch {
        running.kill(signal);
      }
      await exited;
      child = undefined;
      await waitUntil(
        `${opts.name} port ${opts.port} to close`,
        10,
        async () => !(await portOpen(opts.port)),
      );
    },
  };
  return service;
}

/** A Temporal CLI dev server persisting to `<dir>/temporal.db`, namespace and search attributes registered. */
export async function ownTemporal(dir: string): Promise<OwnService & { address: string }> {
  mkdirSync(dir, { recursive: true });
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--headless',
    '--db-filename',
    join(dir, 'temporal.db'),
    '--namespace',
    OWN_NAMESPACE,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTES.flatMap((sa) => ['--search-attribute', sa]),
  ];
  const describe = promisify(execFile);
  const service = ownService({
    name: 'temporal',
    dir,
    port,
    command: temporalCli,
    args,
    readySeconds: 60,
    ready: async () => {
      try {
        await describe(temporalCli, [
          'operator',
          'namespace',
          'describe',
          '-n',
          OWN_NAMESPACE,
          '--address',
          address,
        ]);
        return true;
      } catch {
        return false;
      }
    },
  });
  await service.start();
  return Object.assign(service, { address });
}

/** A FerretDB (MongoDB wire protocol) over SQLite files in `<dir>/ferretdb/`. */
export async function ownFerretDb(dir: string): Promise<OwnService & { uri: string }> {
  mkdirSync(join(dir, 'ferretdb'), { recursive: true });
  const port = await freePort();
  const service = ownService({
    name: 'ferretdb',
    dir,
    port,
    command: ferretdbBin,
    args: ['--listen-addr', `127.0.0.1:${port}`, '--sqlite-url', `file:${join(dir, 'ferretdb')}/`],
    readySeconds: 30,
    ready: () => portOpen(port),
  });
  await service.start();
  return Object.assign(service, { uri: `mongodb://127.0.0.1:${port}/` });
}

/** A CNCF distribution registry storing under `<dir>/registry/`, deletes enabled. */
export async function ownRegistry(dir: string): Promise<OwnService & { host: string }> {
  const storage = join(dir, 'registry', 'storage');
  mkdirSync(storage, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'registry', 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const service = ownService({
    name: 'registry',
    dir,
    port,
    command: 'docker-registry',
    args: ['serve', config],
    readySeconds: 30,
    ready: async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/v2/`)).ok;
      } catch {
        return false;
      }
    },
  });
  await service.start();
  return Object.assign(service, { host: `127.0.0.1:${port}` });
}

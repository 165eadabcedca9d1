import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A private distribution registry started by a test, on a free loopback port. */
export interface RegistryProcess {
  url: string;
  host: string;
  dir: string;
  /** The self-signed certificate it serves, when started with `tls`: the CA bundle to trust. */
  caFile?: string;
  stop(): Promise<void>;
}

/** How to configure it: the YAML of its `auth:` section (given the directory), and TLS. */
export interface RegistryOptions {
  auth?: (dir: string) => string;
  tls?: boolean;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A self-signed P-256 certificate for 127.0.0.1, made with openssl. */
function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'registry.pem');
  const key = join(dir, 'registry.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** Starts `docker-registry serve` (the same distribution 2.8 the services run) and waits until it answers. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-registry-'));
  const port = await freePort();
  const tls = options.tls ? selfSignedCertificate(dir) : undefined;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(tls ? ['  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`] : []),
      ...(options.auth ? ['auth:', options.auth(dir)] : []),
      '',
    ].join('\n'),
  );
  // distribution logs every 404 at level error: keep the tail for a failed start only.
  const child: ChildProcess = spawn('docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await listening(port)) break;
    if (i > 100 || child.exitCode !== null) {
      child.kill();
      throw new Error(`docker-registry did not start: ${log}`);
    }
    await sleep(100);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    dir,
    ...(tls ? { caFile: tls.cert } : {}),
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

async function listening(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

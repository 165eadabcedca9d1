/**
 * docker-compose.yml as shipped, without a Docker engine: the file validates against the
 * compose schema (docker-compose from Debian, `config -q`) in both profiles; every service that
 * runs the gate's image runs a real entry point, sets only variables the code reads, mounts
 * files that exist and probes the port it listens on; and each of those services' commands runs
 * here, directly, with the environment compose gives it (container addresses and paths mapped
 * to this machine's services and files), and answers its health check.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { readFinalStage } from '../../../scripts/image/dockerfile.ts';
import { readModelScheduleId } from '../../../src/consumers/read-model-schedule.ts';
import { codeReadsVariable, isGateCommand } from '../../helpers/deploy-config.ts';
import { freePort, waitForOutput } from '../../helpers/process-output.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const db = uniqueName('compose').replaceAll('-', '_');

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
}
type ComposeFile = { services: Record<string, Service> };

/** The file as compose resolves it (anchors merged, variables interpolated), for `profiles`. */
function resolved(profiles: string[]): ComposeFile {
  const args = [...profiles.flatMap((p) => ['--profile', p]), '-f', 'docker-compose.yml', 'config'];
  const res = spawnSync('docker-compose', args, {
    cwd: root,
    encoding: 'utf8',
    // As a user's shell would have them: unset, so the file's defaults apply.
    env: { PATH: process.env.PATH },
  });
  assert.equal(res.error, undefined, 'docker-compose must be installed by scripts/services.sh');
  assert.equal(res.status, 0, res.stderr);
  return parseYaml(res.stdout) as ComposeFile;
}

before(ensureServices); // installs docker-compose with the registry

after(async () => {
  const archive = await openArchive(services.mongoUri, db);
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

const stage = readFinalStage(join(root, 'Dockerfile'));
const gateServices = (file: ComposeFile) =>
  Object.entries(file.services).filter(([, s]) => s.image === 'slsa-gate:local');

test('docker-compose.yml is a valid compose file, as shipped and with the production profile', () => {
  for (const profiles of [[], ['dev'], ['production']]) {
    const res = spawnSync(
      'docker-compose',
      [...profiles.flatMap((p) => ['--profile', p]), '-f', 'docker-compose.yml', 'config', '-q'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(res.status, 0, `${profiles.join(',')}: ${res.stderr}`);
  }
  // .env makes `docker compose up` the development stack; each profile has its own Temporal and MongoDB.
  assert.match(readFileSync(join(root, '.env'), 'utf8'), /^COMPOSE_PROFILES=dev$/m);
  const file = resolved([]);
  const inProfile = (p: string) =>
    Object.keys(file.services).filter((name) => file.services[name]!.profiles?.includes(p));
  assert.deepEqual(inProfile('dev').sort(), ['mongo-dev', 'temporal-dev']);
  assert.ok(
    inProfile('production').includes('temporal-server') && inProfile('production').includes('postgresql'),
  );
  for (const [name, s] of Object.entries(file.services))
    if (!name.startsWith('temporal-search') && name !== 'keys')
      assert.equal(s.restart, 'unless-stopped', name);
});

test('every gate service runs a real entry point, sets only variables the code reads, mounts files that exist', () => {
  for (const profiles of [[], ['production']]) {
    const file = resolved(profiles);
    const gate = gateServices(file);
    assert.deepEqual(gate.map(([n]) => n).sort(), ['api', 'keys', 'worker']);
    for (const [name, s] of gate) {
      if (name !== 'keys') {
        // The image's entry point with a command of the CLI's table.
        assert.equal(s.entrypoint, undefined, `${name} uses the image's ENTRYPOINT`);
        assert.ok(isGateCommand(s.command!), `${name}: ${s.command!.join(' ')} is a slsa-gate command`);
        assert.ok(s.healthcheck, `${name} has a health check`);
      }
      for (const variable of Object.keys(s.environment ?? {}))
        assert.ok(
          codeReadsVariable(variable),
          `${name}: ${variable} is read by nothing in src/ or the Temporal SDK`,
        );
      for (const volume of s.volumes ?? []) {
        const [from] = volume.split(':');
        if (from!.startsWith('/')) assert.ok(existsSync(from!), `${name}: ${from} exists`);
      }
    }
  }
});

test('the worker and the API share the read model volume at the path SLSA_GATE_READ_MODEL names, the API read-only', () => {
  for (const profiles of [[], ['production']]) {
    const file = resolved(profiles);
    const mountOf = (name: string) => {
      const s = file.services[name]!;
      const path = s.environment?.SLSA_GATE_READ_MODEL;
      assert.ok(path, `${name} sets SLSA_GATE_READ_MODEL`);
      const mount = (s.volumes ?? []).find((v) => v.split(':')[1] === path);
      assert.ok(mount, `${name} mounts a volume at ${path}`);
      return mount.split(':');
    };
    const [workerVolume, , workerMode] = mountOf('worker');
    const [apiVolume, , apiMode] = mountOf('api');
    assert.equal(apiVolume, workerVolume, 'one volume: what the worker exports is what the API reads');
    assert.ok(!workerVolume!.startsWith('/') && !workerVolume!.startsWith('.'), 'a named volume');
    assert.ok(
      workerMode === undefined || workerMode === 'rw',
      `the worker writes the export (${workerMode})`,
    );
    assert.equal(apiMode, 'ro', 'the API only reads it');
    assert.ok(
      file.services.keys!.volumes?.some((v) => v.startsWith(`${workerVolume}:`)),
      'the keys job hands the volume to the image user',
    );
  }
});

test('the search attributes compose registers are the ones the workflows set, with their types', () => {
  const source = readFileSync(join(root, 'src/workflows/search-attributes.ts'), 'utf8');
  // The SDK's type names as the Temporal CLI spells them.
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', KEYWORD_LIST: 'KeywordList' };
  const defined = [...source.matchAll(/defineSearchAttributeKey\('(\w+)', SearchAttributeType\.(\w+)\)/g)]
    .map((m) => `${m[1]!}=${cliType[m[2]!] ?? m[2]!}`)
    .sort();
  assert.ok(defined.length >= 7);
  const dev = resolved(['dev']).services['temporal-dev']!.command!;
  assert.deepEqual(
    dev
      .filter((a) => a.startsWith('--search-attribute='))
      .map((a) => a.slice('--search-attribute='.length))
      .sort(),
    defined,
  );
  const production = resolved(['production']).services['temporal-search-attributes']!.command!;
  const names = production.filter((a) => a.startsWith('--name=')).map((a) => a.slice('--name='.length));
  const types = production.filter((a) => a.startsWith('--type=')).map((a) => a.slice('--type='.length));
  assert.deepEqual(names.map((name, i) => `${name}=${types[i]}`).sort(), defined);
  // scripts/services.sh registers the same on the local dev server.
  const services = readFileSync(join(root, 'scripts/services.sh'), 'utf8');
  const listed = /^SEARCH_ATTRIBUTES=\(([^)]*)\)/m.exec(services)?.[1]?.split(/\s+/).filter(Boolean).sort();
  assert.deepEqual(listed, defined);
});

/** A gate service's command and environment with the container's names mapped to this machine. */
function onThisMachine(s: Service, keysDir: string, ports: Map<string, string>, readModelDir = keysDir) {
  const map = (text: string) => {
    let out = text
      .replaceAll('/etc/slsa-gate', join(root, 'examples/compose'))
      .replaceAll('/var/lib/slsa-gate/read-model', readModelDir)
      .replaceAll('/keys', keysDir)
      .replaceAll('temporal:7233', services.temporalAddress)
      .replaceAll('0.0.0.0', '127.0.0.1');
    for (const [from, to] of ports) out = out.replaceAll(from, to);
    return out;
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    ...Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, map(v)])),
    // The store here is FerretDB, not a replica set; the database is this test's own.
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_DB: db,
    SLSA_GATE_TASK_QUEUE: uniqueName('compose'),
  };
  return { args: (s.command ?? []).map(map), env, map };
}

/** Runs the service's health check command (the image's node and healthcheck script are this checkout's) until it passes. */
async function healthy(test: string[], map: (t: string) => string): Promise<boolean> {
  assert.equal(test[0], 'CMD');
  const [node, script, url] = test.slice(1);
  assert.equal(node, stage.entrypoint[0], 'the probe runs the image Node');
  assert.equal(script, '/app/bin/healthcheck.js');
  for (const end = Date.now() + 180_000; Date.now() < end;) {
    const r = spawnSync(process.execPath, [join(root, 'bin/healthcheck.js'), map(url!)], { timeout: 10_000 });
    if (r.status === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

test('the keys job, the worker and the API start with the configuration compose gives them and pass their health checks', async () => {
  const file = resolved([]);
  const keysDir = mkdtempSync(join(tmpdir(), 'slsa-gate-compose-keys-'));
  // The keys job: makes the VSA key (0600) and a first API token file once, then leaves them.
  const keys = onThisMachine(file.services.keys!, keysDir, new Map());
  const job = () =>
    spawnSync(process.execPath, [...file.services.keys!.entrypoint!.slice(1), ...keys.args], {
      env: keys.env,
      encoding: 'utf8',
    });
  assert.equal(job().status, 0);
  const key = join(keysDir, 'vsa-key.pem');
  assert.equal(statSync(key).mode & 0o077, 0, 'the VSA key is readable by its owner only');
  const before = readFileSync(key);
  assert.equal(job().status, 0);
  assert.deepEqual(readFileSync(key), before, 'a second start keeps the key');

  const workerPort = String(await freePort());
  const apiPort = String(await freePort());
  const ports = new Map([
    ['127.0.0.1:8081', `127.0.0.1:${workerPort}`],
    ['8480', apiPort],
  ]);
  const cli = join(root, 'bin/slsa-gate.js');
  assert.deepEqual(stage.entrypoint, ['/usr/local/bin/node', '/app/bin/slsa-gate.js']);
  // The read model volume, empty as on a fresh install.
  const readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-compose-read-model-'));
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: services.temporalAddress });
  const client = new Client({ connection, namespace: services.temporalNamespace });
  let workerTaskQueue: string | undefined;
  try {
    let api: { url: string } | undefined;
    for (const name of ['worker', 'api'] as const) {
      const s = onThisMachine(file.services[name]!, keysDir, ports, readModelDir);
      if (name === 'worker') workerTaskQueue = s.env.SLSA_GATE_TASK_QUEUE;
      const child = spawn(process.execPath, [cli, ...s.args], {
        env: s.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const started = await waitForOutput(
        child,
        name === 'worker' ? /health on http/ : /listening on (http\S+)/,
      );
      if (name === 'api') api = { url: started[1]! };
      assert.ok(
        await healthy(file.services[name]!.healthcheck!.test, s.map),
        `${name} passes its health check`,
      );
    }
    // The worker made the export schedule; its runs write the shared volume and the API,
    // started before the first export, serves it once there.
    const token = readFileSync(join(keysDir, 'api-token'), 'utf8').trim();
    const list = () =>
      fetch(`${api!.url}/api/v1/decisions`, { headers: { Authorization: `Bearer ${token}` } });
    let res = await list();
    for (let attempt = 0; res.status === 503 && attempt < 600; attempt++) {
      await res.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 500));
      res = await list();
    }
    const body = (await res.json()) as { items: unknown[]; asOf?: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.items, []);
    assert.ok(body.asOf, 'the answer says how fresh it is');
  } finally {
    if (workerTaskQueue)
      await client.schedule
        .getHandle(readModelScheduleId(workerTaskQueue))
        .delete()
        .catch(() => {});
    await connection.close();
    for (const child of children) {
      const exited = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
});

/**
 * The worker's registry clients (createActivityDeps) take credentials per host from the
 * credentials file, then Docker's config.json, then the SLSA_GATE_REGISTRY_* variables,
 * against a real htpasswd registry: each source in turn holds the right password while the
 * later ones hold a wrong one, and a wrong password in an earlier source wins over a right
 * one later.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Archive, databaseOf } from '../../../src/archive/archive.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createActivityDeps } from '../../../src/workers/activity-deps.ts';
import { connectArchive } from '../../../src/config/mongo-options.ts';
import { pushTestImage, localRegistryClient } from '../../helpers/oci-images.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { startRegistry, type RegistryProcess } from '../registry/registry-process.ts';
import { staticCredentials } from '../../../src/registry/credentials.ts';

// bcrypt (cost 4) of "order-Right-pw-5e2a", made with: python3 -c "import crypt;
// print(crypt.crypt('order-Right-pw-5e2a', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"
const USER = 'orderer';
const RIGHT = 'order-Right-pw-5e2a';
const WRONG = 'order-Wrong-pw-0000';
const HTPASSWD = 'orderer:$2b$04$YXnGolvK0J9tYp5Vlv6Zfuz8804z97f/uwwFYp0J72lkLWLATaL.y\n';

let registry: RegistryProcess;
let archive: Archive;
let dir: string;
let repo: string;
let digest: string;

before(async () => {
  ensureServices();
  registry = await startRegistry({
    auth: (d) => {
      writeFileSync(join(d, 'htpasswd'), HTPASSWD);
      return `  htpasswd:\n    realm: slsa-gate-test\n    path: ${join(d, 'htpasswd')}`;
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'slsa-gate-credorder-'));
  archive = await connectArchive(
    loadConfig({ MONGODB_URI: services.mongoUri, SLSA_GATE_DB: uniqueName('credorder').replace(/-/g, '_') }),
  );
  repo = `staging/${uniqueName('order')}`;
  const pusher = localRegistryClient(
    { credentials: staticCredentials({ [registry.host]: { username: USER, password: RIGHT } }) },
    registry.url,
  );
  digest = (await pushTestImage(pusher, repo, { tag: 'v1' })).digest;
  process.env.SLSA_GATE_VSA_KEY_PEM ??= (await import('node:crypto'))
    .generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
});

after(async () => {
  if (archive) await databaseOf(archive).dropDatabase();
  await archive?.close();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Sources {
  file?: string;
  docker?: string;
  env?: string;
}

/** Resolves the pushed tag through the worker's registry client with the given passwords per source. */
async function resolveWith(sources: Sources): Promise<string> {
  const caseDir = mkdtempSync(join(dir, 'case-'));
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: services.temporalAddress,
    MONGODB_URI: services.mongoUri,
    SLSA_GATE_INSECURE_REGISTRIES: registry.host,
  };
  if (sources.file !== undefined) {
    const file = join(caseDir, 'credentials.json');
    writeFileSync(file, JSON.stringify({ [registry.host]: { username: USER, password: sources.file } }), {
      mode: 0o600,
    });
    env.SLSA_GATE_REGISTRY_CREDENTIALS = file;
  }
  if (sources.docker !== undefined) {
    const auth = Buffer.from(`${USER}:${sources.docker}`).toString('base64');
    writeFileSync(join(caseDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
  }
  process.env.DOCKER_CONFIG = caseDir;
  for (const k of ['SLSA_GATE_REGISTRY_HOST', 'SLSA_GATE_REGISTRY_USERNAME', 'SLSA_GATE_REGISTRY_PASSWORD']) {
    delete process.env[k];
  }
  if (sources.env !== undefined) {
    process.env.SLSA_GATE_REGISTRY_HOST = registry.host;
    process.env.SLSA_GATE_REGISTRY_USERNAME = USER;
    process.env.SLSA_GATE_REGISTRY_PASSWORD = sources.env;
  }
  const deps = await createActivityDeps(loadConfig(env), { archive });
  return (await deps.registry(registry.host).resolve(repo, 'v1')).digest;
}

async function refused(sources: Sources): Promise<void> {
  await assert.rejects(resolveWith(sources), (err: unknown) => {
    assert.ok(isGateError(err), String(err));
    assert.equal(err.code, 'REGISTRY_AUTH');
    return true;
  });
}

test('no credentials anywhere: REGISTRY_AUTH', async () => {
  await refused({});
});

test('the credentials file comes first', async () => {
  assert.equal(await resolveWith({ file: RIGHT, docker: WRONG, env: WRONG }), digest);
  await refused({ file: WRONG, docker: RIGHT, env: RIGHT });
});

test("Docker's config.json comes next", async () => {
  assert.equal(await resolveWith({ docker: RIGHT, env: WRONG }), digest);
  await refused({ docker: WRONG, env: RIGHT });
});

test('the environment comes last', async () => {
  assert.equal(await resolveWith({ env: RIGHT }), digest);
});

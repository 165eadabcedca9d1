/** `slsa-gate policy load` and `policy history` as processes, against the real store (own database, dropped). */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { runSlsaGate } from '../../helpers/cli-process.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const db = uniqueName('policy_cli').replaceAll('-', '_');
const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-policy-'));
const env = { ...process.env, MONGODB_URI: services.mongoUri, SLSA_GATE_DB: db, SLSA_GATE_USER: 'ops' };

after(async () => {
  const archive = await openArchive(services.mongoUri, db);
  try {
    await databaseOf(archive).dropDatabase();
  } finally {
    await archive.close();
  }
});

/** A minimal valid policy (key-signed provenance, pinned source) for one repository. */
function policy(repository: string): string {
  const rule = {
    name: 'app',
    artifacts: [repository],
    identities: [{ keyId: 'builder-key' }],
    builders: [],
    minBuildLevel: 1,
    source: { repos: ['github.com/acme/app'] },
  };
  return JSON.stringify({ version: 1, name: 'test', rules: [rule] });
}

const slsaGate = (...args: string[]) => runSlsaGate(env, ...args);

test('policy load stores versions with who, when and where; an invalid file adds none; history lists them', async () => {
  ensureServices();
  const first = join(dir, 'first.json');
  const second = join(dir, 'second.json');
  writeFileSync(first, policy('127.0.0.1:5000/staging/app'));
  const a = await slsaGate('policy', 'load', first, '--json');
  assert.equal(a.code, 0, a.err);
  const v1 = JSON.parse(a.out) as { version: number; created: boolean; loadedBy: string; origin: string };
  assert.equal(v1.version, 1);
  assert.equal(v1.created, true);
  assert.match(v1.loadedBy, /^ops@/);
  assert.equal(v1.origin, first);
  const again = JSON.parse((await slsaGate('policy', 'load', first, '--json')).out) as {
    version: number;
    created: boolean;
  };
  assert.deepEqual([again.version, again.created], [1, false]);

  // A policy that does not parse is refused with a coded error and stored nowhere.
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'version: 1\nrules: [{ name: x, artifacts: [] }]\n');
  const refused = await slsaGate('policy', 'load', broken);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /POLICY_(INVALID|INCOMPLETE)/);
  assert.ok(!refused.err.includes('    at '), 'no stack trace');

  writeFileSync(second, policy('127.0.0.1:5000/staging/other'));
  assert.equal((await slsaGate('policy', 'load', second)).code, 0);
  const history = JSON.parse((await slsaGate('policy', 'history', '--json')).out) as Array<{
    version: number;
    origin: string;
  }>;
  assert.deepEqual(
    history.map((v) => [v.version, v.origin]),
    [
      [2, second],
      [1, first],
    ],
  );
});

test('policy load refuses a rule an unrelated project satisfies (POLICY_TOO_BROAD) and stores nothing; allowBroad loads it with a warning', async () => {
  ensureServices();
  // Attacker-made: the policy above with its artifact opened to every name on every registry.
  const rule = { ...JSON.parse(policy('x')).rules[0], artifacts: ['^.*$'] };
  const broad = join(dir, 'broad.json');
  writeFileSync(broad, JSON.stringify({ version: 1, rules: [rule] }));
  const before = JSON.parse((await slsaGate('policy', 'history', '--json')).out) as unknown[];
  const refused = await slsaGate('policy', 'load', broad);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /POLICY_TOO_BROAD/);
  assert.match(refused.err, /rules\[0\]\.artifacts\[0\]: rule "app": /);
  assert.ok(!refused.err.includes('    at '), 'no stack trace');
  const after = JSON.parse((await slsaGate('policy', 'history', '--json')).out) as unknown[];
  assert.equal(after.length, before.length, 'nothing stored');

  const allowed = join(dir, 'allowed.json');
  writeFileSync(allowed, JSON.stringify({ version: 1, rules: [{ ...rule, allowBroad: true }] }));
  const loaded = await slsaGate('policy', 'load', allowed);
  assert.equal(loaded.code, 0, loaded.err);
  assert.match(loaded.out, /^LOADED: /m);
  assert.match(loaded.err, /^WARNING: .*: rules\[0\]\.artifacts\[0\]: rule "app": .*allowBroad/m);
});

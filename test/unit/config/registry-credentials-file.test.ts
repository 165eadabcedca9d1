import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { loadRegistryCredentialsFile } from '../../../src/config/registry-credentials-file.ts';

const SECRET = 'ghp_registryTokenValue123';
const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-regcreds-'));

function file(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

function configInvalid(fn: () => unknown, detail: Record<string, unknown> = {}): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isGateError(err), String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    for (const [k, v] of Object.entries(detail)) assert.deepEqual(err.detail?.[k], v, `detail.${k}`);
    assert.ok(!inspect(err, { depth: 10 }).includes(SECRET), 'no secret in the error');
    return true;
  });
}

test('per-host credentials, inline or from a password file next to it', () => {
  file('ghcr-token', `${SECRET}\n`);
  const path = file(
    'creds.json',
    JSON.stringify({
      'ghcr.io': { username: 'bot', passwordFile: 'ghcr-token' },
      'registry.internal:5000': { username: 'gate', password: 'inline-pw' },
    }),
  );
  assert.deepEqual(loadRegistryCredentialsFile(path), {
    'ghcr.io': { username: 'bot', password: SECRET },
    'registry.internal:5000': { username: 'gate', password: 'inline-pw' },
  });
  assert.equal(loadConfig({ SLSA_GATE_REGISTRY_CREDENTIALS: path }).registryCredentialsFile, path);
});

test('a missing file, a file readable by others, and a loose password file are CONFIG_INVALID naming the variable', () => {
  configInvalid(() => loadRegistryCredentialsFile(join(dir, 'absent.json')), {
    variable: 'SLSA_GATE_REGISTRY_CREDENTIALS',
  });
  const loose = file('loose.json', JSON.stringify({ 'ghcr.io': { username: 'u', password: SECRET } }), 0o644);
  configInvalid(() => loadRegistryCredentialsFile(loose), { path: loose });
  file('loose-token', SECRET, 0o640);
  const viaLoose = file(
    'via-loose.json',
    JSON.stringify({ 'ghcr.io': { username: 'u', passwordFile: 'loose-token' } }),
  );
  configInvalid(() => loadRegistryCredentialsFile(viaLoose), { path: join(dir, 'loose-token') });
});

test('bad JSON and bad entries are refused without echoing a password', () => {
  configInvalid(() => loadRegistryCredentialsFile(file('bad.json', `{"ghcr.io": {"password": "${SECRET}"`)));
  configInvalid(() =>
    loadRegistryCredentialsFile(file('noname.json', JSON.stringify({ 'ghcr.io': { password: SECRET } }))),
  );
  configInvalid(() =>
    loadRegistryCredentialsFile(
      file(
        'both.json',
        JSON.stringify({ 'ghcr.io': { username: 'u', password: SECRET, passwordFile: 'x' } }),
      ),
    ),
  );
  configInvalid(() =>
    loadRegistryCredentialsFile(
      file('url.json', JSON.stringify({ 'https://ghcr.io/': { username: 'u', password: SECRET } })),
    ),
  );
  file('empty-token', '\n');
  configInvalid(() =>
    loadRegistryCredentialsFile(
      file('empty.json', JSON.stringify({ 'ghcr.io': { username: 'u', passwordFile: 'empty-token' } })),
    ),
  );
});

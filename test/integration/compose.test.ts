import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureServices } from '../helpers/services.ts';

before(ensureServices); // installs docker-compose with the registry

test('docker-compose.yml is a valid compose file', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const res = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(res.error, undefined, 'docker-compose must be installed by scripts/services.sh');
  assert.equal(res.status, 0, res.stderr);
});

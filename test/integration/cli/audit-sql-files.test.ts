/**
 * `audit sql` reads the export directory and nothing else, through the real CLI process and
 * DuckDB. DuckDB always lets a query read its own temp directory, whatever
 * `allowed_directories` says; for an in-memory database that is `.tmp` under the working
 * directory, where anything else may lie. The read model gives DuckDB a private temp
 * directory of its own instead (src/audit/read-model/read-model.ts).
 *
 * Attacker material: the auditor's SQL `SELECT * FROM read_csv('.tmp/…')` (and the same file
 * by absolute path), aimed at a file made here under the working directory's `.tmp/`, as a
 * build job or another tool run from that directory would leave it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { runCli } from '../../helpers/cli-process.ts';

const work = mkdtempSync(join(tmpdir(), 'slsa-gate-audit-sql-'));
after(() => rmSync(work, { recursive: true, force: true }));

const auditSql = (sql: string) => runCli(['audit', 'sql', sql, '--dir', 'export', '--json'], { cwd: work });

test("a file under the working directory's .tmp/ cannot be read through audit sql", async () => {
  // A real export, of an archive with nothing in it: a directory without one is no read model.
  await exportParquet({ databaseName: 'empty', exportBatches: async function* () {} }, join(work, 'export'));
  mkdirSync(join(work, '.tmp'));
  writeFileSync(join(work, '.tmp', 'secret.csv'), 'name,value\ndeploy_token,s3cr3t-planted\n');
  // The export directory stays readable: the model opens and answers a query over its tables.
  const own = await auditSql('SELECT count(*) AS n FROM decisions');
  assert.equal(own.exit, 0, own.stderr);
  assert.deepEqual(JSON.parse(own.stdout), [{ n: '0' }]);
  for (const path of ['.tmp/secret.csv', join(work, '.tmp', 'secret.csv')]) {
    const r = await auditSql(`SELECT * FROM read_csv('${path}')`);
    // Before: exit 0 and the planted row on stdout.
    assert.equal(r.exit, 2, `${path}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /INPUT_INVALID/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cr3t-planted/);
  }
});

test('the temp directory DuckDB is given is not the working directory, and is gone afterwards', async () => {
  const r = await auditSql("SELECT current_setting('temp_directory') AS dir");
  assert.equal(r.exit, 0, r.stderr);
  const [{ dir }] = JSON.parse(r.stdout) as [{ dir: string }];
  assert.ok(dir.startsWith('/'), `an absolute private directory, not ${dir}`);
  assert.ok(!dir.startsWith(work), `${dir} is outside the working directory`);
  // Spilled data does not outlive the command: the directory is removed on close.
  assert.equal(existsSync(dir), false, `${dir} was removed`);
});

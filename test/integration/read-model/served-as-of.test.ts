/**
 * How fresh a served answer is (docs/audit.md#freshness): `asOf` is the time the last export
 * run finished reading the store, also when that run found nothing new. On the real store
 * (FerretDB): one decision archived and exported, then a second run over the unchanged
 * archive; the served model's list and statistics answer with the second run's time.
 *
 * Failing before: a run that wrote nothing left the served answers at the first run's time,
 * so an idle archive looked stale by however long it had been idle.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { decisionStatsAnswer, listDecisionPage } from '../../../src/audit/read-model/audit-answers.ts';
import { exportParquet, readExportState } from '../../../src/audit/read-model/export-parquet.ts';
import { serveReadModel } from '../../../src/audit/read-model/served-model.ts';
import { makeDecision } from '../archive/make-records.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const work = mkdtempSync(join(tmpdir(), 'slsa-gate-served-as-of-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('a served answer is as of the last export run, also one that found nothing new', async () => {
  ensureServices();
  const archive = await openArchive(services.mongoUri, uniqueName('served_as_of').replaceAll('-', '_'));
  const dir = join(work, 'model');
  const served = serveReadModel(dir);
  try {
    await archive.recordDecision(makeDecision(uniqueName('as-of')));
    const first = await exportParquet(archive, dir);
    assert.equal(
      (await served.use((model) => listDecisionPage(model, {}))).asOf,
      first.state.exportedAt,
      'the first run is the model the server loads',
    );

    const second = await exportParquet(archive, dir);
    assert.equal(
      Object.values(second.written).reduce((a, b) => a + b, 0),
      0,
      'nothing new to write',
    );
    assert.ok(second.state.exportedAt > first.state.exportedAt, 'the second run read the store later');
    assert.equal(readExportState(dir)?.exportedAt, second.state.exportedAt, 'the empty run wrote its state');

    await served.refresh();
    const page = await served.use((model) => listDecisionPage(model, {}));
    assert.equal(page.asOf, second.state.exportedAt, 'the list is as of the run that found nothing new');
    assert.equal(page.items.length, 1, 'and still holds the decision');
    const stats = await served.use((model) => decisionStatsAnswer(model, {}));
    assert.equal(stats.asOf, second.state.exportedAt);
    assert.equal(stats.total, 1);
  } finally {
    served.close();
    await databaseOf(archive).dropDatabase();
    await archive.close();
  }
});

/**
 * A real publish (real Temporal server and Worker, registry and FerretDB) reads the archive
 * only by `_id`, each read served by the `_id` index, so its cost does not grow with the
 * archive. Failing before: the rollback check's `lastPublished` searched `decisions` by
 * status, repository and tag, and evaluation loaded attestations with `_id: {$in}`; FerretDB
 * serves neither by index (`filterPushdown: false`, SQLite plan `SCAN`).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openArchive } from '../../src/archive/archive.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { assertReadsByKey, filtersOf, readRecorder } from '../helpers/explain-by-key.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { ensureServices, services, uniqueName } from '../helpers/services.ts';

const recorder = readRecorder();
let h: PublishHarness;
before(async () => {
  ensureServices();
  const archive = await openArchive(services.mongoUri, uniqueName('reads').replaceAll('-', '_'), {
    onCommand: recorder.onCommand,
  });
  h = await startPublishHarness({ archive });
});
after(async () => {
  await h?.close();
});

test('two publishes to one tag read the archive by key only (the second one runs the rollback check against the first)', async () => {
  const staging = `staging/${uniqueName('app')}`;
  const release = staging.replace(/^staging\//, 'release/');
  recorder.recording = true;
  // Both to `latest`, built from v1.0.0 then v1.0.1: the second reads the first's release record.
  for (const version of ['v1.0.0', 'v1.0.1']) {
    const built = await buildAndAttest(h.registry, staging, {
      tag: version,
      seed: `${staging}-${version}`,
      key: h.builderKey,
    });
    // The operator's rule sends these images to `release` under `latest`.
    const request = requestFor(h, staging, built.digest, {
      tag: version,
      release,
      policy: { release: { destinations: [`${h.registryHost}/${release}`], tags: ['latest'] } },
    });
    const result = await h.publish({ ...request, releaseTag: 'latest' });
    assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  }
  recorder.recording = false;
  const latest = await h.deps.archive.lastRelease(`${h.registryHost}/${release}`, 'latest');
  assert.equal(latest?.sourceRef, 'refs/tags/v1.0.1', 'the release record names the last publish');
  const read = new Set(recorder.reads.flatMap(filtersOf).map((f) => f.collection));
  // `revocations`: a revoked digest is denied whatever the tag (docs/security-model.md#revocation).
  for (const name of ['releases', 'attestations', 'subjectVsas', 'decisions', 'revocations']) {
    assert.ok(read.has(name), `a publish reads ${name}`);
  }
  await assertReadsByKey(h.deps.archive, recorder.reads);
});

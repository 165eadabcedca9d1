/**
 * A revocation recorded while a publish of the same digest is copying it. The publish path
 * checks revocations just before the copy; the revocation run lists the releases published
 * before it. The run in between was seen by neither: it published with a fresh PASSED VSA and
 * its tag pointed at the revoked digest (docs/security-model.md#revocation).
 *
 * How the race is made on real services: a fault worker process holds the publish right
 * before its copy (`pauseBefore: 'publishImage'`, after the pre-copy revocation check); the
 * revocation workflow runs to its end on that same worker (it finds no published release);
 * then the copy is let go.
 *
 * Failing before: the run ended PUBLISHED and the release tag named the revoked digest.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SLSA_VSA_V1 } from '../../src/core/formats/slsa/vsa-v1.ts';
import { listReferrers } from '../../src/registry/referrers.ts';
import { revocationNotice } from '../../src/registry/revocation-notice.ts';
import type { PublishResult } from '../../src/workflows/contract.ts';
import { revokeWorkflowId, type RevokeResult } from '../../src/workflows/revocation-contract.ts';
import {
  startSharedCrashRig,
  stageImage,
  type CrashRig,
  type WorkerProcess,
} from '../helpers/worker-process.ts';

const RELEASE_TAG = 'stable';

let rig: CrashRig;
let worker: WorkerProcess;
before(async () => {
  rig = await startSharedCrashRig();
  worker = await rig.startWorker({ pauseBefore: 'publishImage' });
});
after(async () => {
  await worker?.kill('SIGTERM');
  await rig?.close();
});

test('a digest revoked while its publish copies it: the run revokes its own release (FAILED VSA, tag moved) and ends REVOKED', async () => {
  const { staging, digest } = await stageImage(rig, 'revoked-mid-copy');
  const request = rig.request(staging, digest, { releaseTag: RELEASE_TAG });
  const handle = await rig.start(request);
  await worker.waitForLine(/^fault pause-before publishImage$/);

  const revocation = await rig.client.workflow.execute('revokeDigest', {
    taskQueue: rig.taskQueue,
    workflowId: revokeWorkflowId(digest),
    args: [{ digest, reason: 'compromised build runner', requestedBy: 'carol' }],
  });
  assert.deepEqual((revocation as RevokeResult).releases, [], 'nothing was published yet when it ran');

  writeFileSync(join(rig.dir, 'publishImage.go'), '');
  const result = (await handle.result()) as PublishResult;
  assert.deepEqual([result.status, result.code], ['DENIED', 'REVOKED'], result.reason);

  const release = request.releaseRepository;
  const tagged = await rig.registry.resolve(release, RELEASE_TAG);
  assert.equal(tagged.digest, revocationNotice(digest).digest, 'the release tag was moved to the notice');
  // The revocation's FAILED VSA, marked with the revoked digest (src/activities/revocation.ts).
  const referrers = await listReferrers(rig.registry, release, digest);
  assert.ok(
    referrers.some(
      (r) =>
        r.annotations?.['dev.sigstore.bundle.predicateType'] === SLSA_VSA_V1 &&
        r.annotations?.['dev.slsa-gate.revocation'] === digest,
    ),
    'the FAILED VSA of the revocation is attached to this release',
  );
});

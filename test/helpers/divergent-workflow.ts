/**
 * A deliberately changed publishArtifact for the replay test's negative case: the kind of
 * unversioned edit the replay gate must stop. It pins the candidate and then publishes
 * straight away, skipping evidence, policy and the archived decision.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../../src/activities/index.ts';
import type { PublishRequest } from '../../src/workflows/contract.ts';
import * as sa from '../../src/workflows/search-attributes.ts';

const io = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '2 minutes' });

export async function publishArtifact(request: PublishRequest): Promise<unknown> {
  const { candidate } = request;
  upsertSearchAttributes([
    { key: sa.ArtifactDigest, value: candidate.digest },
    { key: sa.Repository, value: `${candidate.registry}/${candidate.repository}` },
    { key: sa.PublishStatus, value: 'Resolving' },
  ]);
  await io.pinCandidate(candidate);
  return io.publishImage({
    candidate,
    releaseRegistry: request.releaseRegistry,
    releaseRepository: request.releaseRepository,
  });
}

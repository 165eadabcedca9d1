/** Assertions that a digest was published exactly once, for the crash and outage tests. */
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { type Archive, collectionsOf } from '../../src/archive/archive.ts';
import { isGateError } from '../../src/core/errors.ts';
import type { RegistryClient } from '../../src/registry/client.ts';
import type { PublishRequest, PublishResult } from '../../src/workflows/contract.ts';
import { listReferrers } from '../../src/registry/referrers.ts';
import {
  COSIGN_ANNOTATIONS,
  cosignAttestationTag,
  findCosignAttestations,
} from '../../src/registry/cosign-attestations.ts';
import { cosignSignatureTag, findCosignSignatures } from '../../src/registry/cosign-signatures.ts';

const VSA_PREDICATE = 'https://slsa.dev/verification_summary/v1';
const PROVENANCE_PREDICATE = 'https://slsa.dev/provenance/v1';
const PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
const DECISION_ANNOTATION = 'dev.slsa-gate.decision-id';

/** The tags of a repository, straight from the registry's tag list (distribution spec §Listing Tags). */
export async function listTags(registryHost: string, repo: string): Promise<string[]> {
  const res = await fetch(`http://${registryHost}/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  assert.equal(res.status, 200, `tag list of ${repo}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return [...(body.tags ?? [])].sort();
}

/** Nothing of the candidate is in the release repository: no tag, and the digest is unknown there. */
export async function assertNothingPublished(
  registry: RegistryClient,
  release: string,
  digest: string,
): Promise<void> {
  assert.deepEqual(await listTags(registry.host, release), [], `${release} has no tags`);
  await assert.rejects(registry.resolve(release, digest), (err: unknown) => isGateError(err));
}

/**
 * One publish: the release repository holds the image under `tag` (→ the verified digest), the
 * referrers fallback tag, cosign's `.att` and `.sig` tags, and nothing else; one VSA referrer, for
 * `decisionId`; one copy of the provenance, and in the `.att` manifest one VSA layer and one
 * provenance layer; one image signature; one decision about the digest, `published` there, and one archived VSA.
 */
export async function assertPublishedOnce(opts: {
  registry: RegistryClient;
  archive: Archive;
  release: string;
  digest: string;
  tag: string;
  decisionId: string;
}): Promise<void> {
  const { registry, archive, release, digest, tag, decisionId } = opts;
  const fallbackTag = digest.replace(':', '-');
  assert.deepEqual(
    await listTags(registry.host, release),
    [fallbackTag, cosignAttestationTag(digest), cosignSignatureTag(digest), tag].sort(),
  );
  assert.equal((await registry.resolve(release, tag)).digest, digest);

  const referrers = await listReferrers(registry, release, digest);
  const vsas = referrers.filter((r) => r.annotations?.[PREDICATE_ANNOTATION] === VSA_PREDICATE);
  assert.equal(vsas.length, 1, 'exactly one VSA referrer');
  assert.equal(vsas[0]?.annotations?.[DECISION_ANNOTATION], decisionId);
  assert.equal(
    referrers.filter((r) => r.annotations?.[PREDICATE_ANNOTATION] === PROVENANCE_PREDICATE).length,
    1,
    'exactly one copy of the provenance',
  );
  assert.equal(referrers.length, 2, 'no other referrer');

  const cosignLayers = (await findCosignAttestations(registry, release, digest))?.layers ?? [];
  const cosignTypes = cosignLayers.map((l) => l.annotations?.[COSIGN_ANNOTATIONS.predicateType]).sort();
  assert.deepEqual(
    cosignTypes,
    [PROVENANCE_PREDICATE, VSA_PREDICATE].sort(),
    'one VSA and one provenance in .att',
  );
  const { layers: signatureLayers } = await findCosignSignatures(registry, release, digest);
  assert.equal(signatureLayers.length, 1, 'one image signature in .sig');

  const decisions = await archive.findDecisionsByDigest(digest);
  assert.equal(decisions.length, 1, 'exactly one decision record');
  assert.equal(decisions[0]?._id, decisionId);
  assert.equal(decisions[0]?.status, 'published');
  assert.equal(decisions[0]?.published?.digest, digest);
  assert.equal(decisions[0]?.published?.tag, tag);
  assert.equal(await collectionsOf(archive).vsas.countDocuments({ decisionId }), 1, 'one archived VSA');
}

/** assertPublishedOnce for a request: its candidate's digest in its release repository under `tag`. */
export async function assertRequestPublishedOnce(
  rig: { registry: RegistryClient; archive: Archive },
  request: PublishRequest,
  tag: string,
  decisionId: string,
): Promise<void> {
  await assertPublishedOnce({
    registry: rig.registry,
    archive: rig.archive,
    release: request.releaseRepository,
    digest: request.candidate.digest,
    tag,
    decisionId,
  });
}

/** The workflow's result, asserted PUBLISHED (the message gives the code and reason otherwise). */
export async function publishedResult(handle: WorkflowHandle): Promise<PublishResult> {
  const result = (await handle.result()) as PublishResult;
  assert.equal(result.status, 'PUBLISHED', `${result.code}: ${result.reason}`);
  return result;
}

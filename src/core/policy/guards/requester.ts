/**
 * Guard `requester` (docs/security-model.md#what-a-requester-may-publish): a requester may
 * publish only builds of the source repositories its grant names, to the release repositories
 * it names. The source is the one the *verified* provenance states, never one the request
 * states: a CI token for repository A cannot have repository B's build published. A
 * provenance that names no source matches no grant.
 */
import type { PublishGrant } from '../../identity.ts';
import type { ArtifactRef, CheckResult } from '../../model.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import { compileAnchored } from '../anchored-pattern.ts';
import { fail, pass } from '../check-result.ts';
import { sourceRepoMatches } from '../checks/source.ts';

/** The verified requester as the guard sees it: who, and what its grants let it publish. */
export interface RequesterInput {
  id: string;
  /** One entry per grant; none (or absent) allows nothing. */
  mayPublish?: PublishGrant[];
}

function sourceAllowed(entry: string, uri: string): boolean {
  return entry.startsWith('^') ? compileAnchored(entry).test(uri) : sourceRepoMatches(entry, uri);
}

function destinationAllowed(grant: PublishGrant, repository: string): boolean {
  if (grant.destinations === undefined) return true;
  return grant.destinations.some((d) =>
    d.startsWith('^') ? compileAnchored(d).test(repository) : d === repository,
  );
}

/** Whether some grant lets the requester publish to `repository` (the API answers with it before starting). */
export function mayPublishTo(grants: PublishGrant[] | undefined, repository: string): boolean {
  return (grants ?? []).some((g) => destinationAllowed(g, repository));
}

/** The requester guard: REQUESTER_NOT_ALLOWED unless one grant covers both the verified source and the destination. */
export function checkRequester(
  requester: RequesterInput,
  input: { repository: string; artifact: ArtifactRef; provenance?: Provenance },
): CheckResult {
  const evidence = [`sha256:${input.artifact.digests.sha256}`];
  const source = input.provenance?.source?.uri;
  if (source === undefined)
    return fail(
      'requester',
      'REQUESTER_NOT_ALLOWED',
      `no verified source repository to match ${requester.id}'s grant against`,
      evidence,
    );
  const allowed = (requester.mayPublish ?? []).some(
    (g) => g.sources.some((s) => sourceAllowed(s, source)) && destinationAllowed(g, input.repository),
  );
  if (!allowed)
    return fail(
      'requester',
      'REQUESTER_NOT_ALLOWED',
      `${requester.id} may not publish builds of ${source} to ${input.repository}`,
      evidence,
    );
  return pass(
    'requester',
    `${requester.id} may publish builds of ${source} to ${input.repository}`,
    evidence,
  );
}

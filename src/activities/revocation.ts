import type { RevocationRecord } from '../archive/archive.ts';
import { describeRevocation, revocationDigest } from '../archive/revocation-record.ts';
import { GateError } from '../core/errors.ts';
import type { SealedIdentity } from '../core/identity.ts';
import { requestDigestOf } from '../core/identity-seal.ts';
import { buildVsaStatement } from '../core/vsa/vsa-statement.ts';
import { parseRepository } from '../registry/reference.ts';
import { moveTagToNotice, revocationNotice } from '../registry/revocation-notice.ts';
import { unsealedRevokeRequest, type RevokeResult } from '../workflows/revocation-contract.ts';
import { openSeal } from './decision.ts';
import type { ActivityDeps } from './deps.ts';
import { attachGateVsa } from './gate-vsa.ts';

/** Marks the FAILED VSA of a revocation among the image's referrers (value: the revoked digest). */
const REVOCATION_ANNOTATION = 'dev.slsa-gate.revocation';

type RevokedRelease = RevokeResult['releases'][number];

/** The REVOKED error for a digest, naming who revoked it, when and why. */
export function revokedError(revocation: RevocationRecord): GateError {
  return new GateError('REVOKED', describeRevocation(revocation), {
    detail: { digest: revocation.subjectDigest, revokedBy: revocation.by, revokedAt: revocation.at },
  });
}

export function createRevocationActivities(deps: ActivityDeps) {
  const { archive } = deps;
  const activities = {
    /** REVOKED when the digest was revoked, whatever the destination or tag: one read by key. */
    async denyIfRevoked(input: { digest: string }): Promise<void> {
      const revocation = await archive.revocationOf(input.digest);
      if (revocation) throw revokedError(revocation);
    },

    /**
     * Archives the revocation before anything else is done about it, so the publish path
     * denies the digest from here on. Who revoked is the identity the API sealed for this
     * revocation (`verified: true`), or the name an operator typed at the CLI (`verified:
     * false`). The first revocation of a digest stands.
     */
    async recordRevocation(input: {
      digest: string;
      reason: string;
      requestedBy: string;
      identity?: SealedIdentity;
      workflowId: string;
      runId: string;
      /** When the run started: a seal older than its lifetime then is refused. */
      requestedAt: string;
      at: string;
    }): Promise<{ revocation: RevocationRecord; recorded: boolean }> {
      const verified = input.identity
        ? openSeal(
            deps,
            input.identity,
            {
              purpose: 'revoke',
              workflowId: input.workflowId,
              requestDigest: requestDigestOf(
                unsealedRevokeRequest({
                  digest: input.digest,
                  reason: input.reason,
                  requestedBy: input.requestedBy,
                }),
              ),
              now: new Date(input.requestedAt),
            },
            'IDENTITY_UNVERIFIED',
          )
        : undefined;
      return archive.recordRevocation({
        subjectDigest: input.digest,
        reason: input.reason,
        by: verified?.id ?? input.requestedBy,
        verified: verified !== undefined,
        at: input.at,
        workflowId: input.workflowId,
        runId: input.runId,
      });
    },

    /**
     * Where the gate published the digest: per release repository, the newest publishing
     * decision and every tag it was published under. Read from the decisions (rare, not the
     * publish path).
     */
    async revocationTargets(input: {
      digest: string;
    }): Promise<Array<{ repository: string; decisionId: string; tags: string[] }>> {
      const targets = new Map<string, { repository: string; decisionId: string; tags: string[] }>();
      // Newest first: the first decision seen per repository is its newest publish.
      for (const decision of await archive.findDecisionsByDigest(input.digest)) {
        const published = decision.status === 'published' ? decision.published : undefined;
        if (!published || published.digest !== input.digest) continue;
        const target = targets.get(published.repository) ?? {
          repository: published.repository,
          decisionId: decision._id,
          tags: [],
        };
        if (published.tag !== undefined && !target.tags.includes(published.tag))
          target.tags.push(published.tag);
        targets.set(published.repository, target);
      }
      return [...targets.values()];
    },

    /**
     * Attaches a FAILED VSA, signed with the gate's VSA key, to the revoked digest in one
     * release repository, in the forms consumers read (bundle referrer and `.att` layer), and
     * archives it under the decision it revokes there. Its `policy` names the revocation
     * record by digest. A retry finds the one attached before.
     */
    async attachRevocationVsa(input: {
      digest: string;
      repository: string;
      decisionId: string;
      revocation: RevocationRecord;
    }): Promise<{ vsaDigest: string }> {
      const { registry: host, repository: repo } = parseRepository(input.repository);
      const resourceUri = `oci://${input.repository}`;
      const policyDigest = revocationDigest(input.revocation);
      const at = new Date(input.revocation.at).toISOString();
      return attachGateVsa(deps, {
        target: deps.registry(host),
        repository: repo,
        subjectDigest: input.digest,
        marker: { key: REVOCATION_ANNOTATION, value: input.digest },
        verificationResult: 'FAILED',
        statement: () =>
          buildVsaStatement({
            verifierId: deps.settings.verifierId,
            resourceUri,
            subjectDigest: input.digest,
            subjectName: resourceUri,
            policy: { uri: `urn:slsa-gate:revocation:${input.digest}`, digest: policyDigest },
            inputAttestations: [],
            verificationResult: 'FAILED',
            // VSA v1 §verifiedLevels: "FAILED" if policy verification failed.
            verifiedLevels: ['FAILED'],
            dependencyLevels: {},
            timeVerified: at,
          }),
        record: { decisionId: input.decisionId, resourceUri, policyDigest, at },
      });
    },

    /**
     * Moves every release tag the gate published the digest under, and that still names it,
     * to the digest's revocation notice (src/registry/revocation-notice.ts). A tag that names
     * something else now is left alone (the drift monitor reports it). Idempotent.
     */
    async moveRevokedTags(input: {
      digest: string;
      repository: string;
      tags: string[];
    }): Promise<Pick<RevokedRelease, 'moved' | 'untouched'>> {
      const { registry: host, repository: repo } = parseRepository(input.repository);
      const client = deps.registry(host);
      const moved: RevokedRelease['moved'] = [];
      const untouched: RevokedRelease['untouched'] = [];
      const notice = revocationNotice(input.digest).digest;
      for (const tag of input.tags) {
        const current = await client.getManifestByTag(repo, tag);
        if (current === undefined) continue;
        if (current.digest === input.digest)
          moved.push({ tag, notice: await moveTagToNotice(client, repo, tag, input.digest) });
        // Moved by an earlier attempt of this revocation.
        else if (current.digest === notice) moved.push({ tag, notice });
        else untouched.push({ tag, digest: current.digest });
      }
      return { moved, untouched };
    },
  };
  return {
    ...activities,

    /**
     * Carries out, for one release just published, a revocation recorded while its copy ran:
     * the revocation run listed the releases published before it and could not see this one
     * (the publish path checks revocations before the copy, docs/security-model.md#revocation).
     * Attaches the FAILED VSA and moves the tag, as the revocation run does; one read by key
     * when nothing was revoked. Idempotent, like the steps it reuses.
     */
    async revokeReleaseIfRevoked(input: {
      digest: string;
      repository: string;
      decisionId: string;
      tag?: string;
    }): Promise<{ reason: string } | null> {
      const revocation = await archive.revocationOf(input.digest);
      if (!revocation) return null;
      await activities.attachRevocationVsa({
        digest: input.digest,
        repository: input.repository,
        decisionId: input.decisionId,
        revocation,
      });
      await activities.moveRevokedTags({
        digest: input.digest,
        repository: input.repository,
        tags: input.tag === undefined ? [] : [input.tag],
      });
      return { reason: revokedError(revocation).message };
    },
  };
}

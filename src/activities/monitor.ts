import { Context } from '@temporalio/activity';
import type { DriftKind } from '../archive/drift-record.ts';
import { verifyPublishedImage } from '../consumers/published-vsa.ts';
import { isGateError } from '../core/errors.ts';
import { parseRepository } from '../registry/reference.ts';
import type { ActivityDeps } from './deps.ts';

/** Tags checked by one activity call: the paging bound that keeps each call short and heartbeating. */
export const MONITOR_PAGE_SIZE = 50;

/** Tags that attach artifacts to an image: the referrers tag schema and cosign's `.att`/`.sig`/`.sbom`. */
const ATTACHMENT_TAG = /^sha256-([0-9a-f]{64})(?:\.(?:att|sig|sbom))?$/;

/** One page of a release repository's check, as the workflow hands it over. */
export interface MonitorPageInput {
  /** `host/repository`. */
  repository: string;
  /** The last tag of the previous page. */
  after?: string;
  workflowId: string;
  runId: string;
  at: string;
}

export interface MonitorPageResult {
  checked: number;
  findings: Array<{ tag: string; digest: string; kind: DriftKind; reason: string }>;
  /** Where the next page starts; absent on the last page. */
  after?: string;
}

export function createMonitorActivities(deps: ActivityDeps) {
  return {
    /**
     * Checks one page of tags of a release repository: each tag must name a digest this gate
     * published there, that it last published under that tag, and that carries a VSA its key
     * signed. Every finding is archived as a drift event before the page returns.
     */
    async checkReleasePage(input: MonitorPageInput): Promise<MonitorPageResult> {
      const { registry: host, repository: repo } = parseRepository(input.repository);
      const client = deps.registry(host);
      const page = await client.listTagsPage(repo, {
        n: MONITOR_PAGE_SIZE,
        ...(input.after ? { last: input.after } : {}),
      });
      const findings: MonitorPageResult['findings'] = [];
      let skipped = 0;
      for (const tag of page.tags) {
        Context.current().heartbeat({ repository: input.repository, tag });
        // An attachment tag is not a release when the image it attaches to is in the
        // repository; one that names no image here is checked like any other tag.
        const attachedTo = ATTACHMENT_TAG.exec(tag)?.[1];
        if (attachedTo && (await client.manifestExists(repo, `sha256:${attachedTo}`))) {
          skipped++;
          continue;
        }
        const { digest } = await client.resolve(repo, tag);
        const found: Array<{ kind: DriftKind; reason: string; expectedDigest?: string }> = [];
        const decisions = await deps.archive.findDecisionsByDigest(digest);
        const publishedHere = decisions.filter(
          (d) => d.status === 'published' && d.published?.repository === input.repository,
        );
        const revoked = new Set(
          publishedHere.length === 0
            ? []
            : (await deps.archive.revocationsOf(digest)).map((r) => r.decisionId),
        );
        const published = publishedHere.some((d) => !revoked.has(d._id));
        if (publishedHere.length === 0) {
          found.push({
            kind: 'unpublished-digest',
            reason: `no decision of this gate published ${digest} to ${input.repository}`,
          });
        } else if (!published) {
          found.push({
            kind: 'revoked',
            reason: `every decision that published ${digest} to ${input.repository} was revoked`,
          });
        }
        const last = await deps.archive.lastRelease(input.repository, tag);
        if (last && last.digest !== digest) {
          found.push({
            kind: 'tag-moved',
            reason: `${input.repository}:${tag} names ${digest}; the gate last published ${last.digest} there`,
            expectedDigest: last.digest,
          });
        }
        if (published) {
          const verdict = await verifyPublishedImage(
            client,
            { repository: repo, digest },
            {
              publicKeys: [deps.signer.publicKeyPem],
              verifierId: deps.settings.verifierId,
              resourceUri: `oci://${input.repository}`,
              verifiedLevels: [],
            },
          ).catch((err: unknown) => {
            if (!isGateError(err)) throw err;
            return { outcome: 'FAILED' as const, failure: { code: err.code, reason: err.message } };
          });
          if (verdict.outcome !== 'PASSED') {
            found.push({
              kind: 'no-valid-vsa',
              reason: `${verdict.failure?.code}: ${verdict.failure?.reason ?? 'no VSA accepted'}`,
            });
          }
        }
        for (const f of found) {
          await deps.archive.recordDrift({
            repository: input.repository,
            tag,
            digest,
            kind: f.kind,
            reason: f.reason,
            ...(f.expectedDigest ? { expectedDigest: f.expectedDigest } : {}),
            workflowId: input.workflowId,
            runId: input.runId,
            at: input.at,
          });
          findings.push({ tag, digest, kind: f.kind, reason: f.reason });
        }
      }
      return { checked: page.tags.length - skipped, findings, ...(page.last ? { after: page.last } : {}) };
    },
  };
}

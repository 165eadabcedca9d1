import { Context } from '@temporalio/activity';
import type { DriftKind } from '../archive/drift-record.ts';
import { createVerifyPool, inOrder, jobsOption, type VerifyPool } from '../audit/verify-pool.ts';
import { verifyPublishedImage, type PublishedVsaItem } from '../consumers/published-vsa.ts';
import { isGateError } from '../core/errors.ts';
import { describeRevocation } from '../archive/revocation-record.ts';
import { parseRepository } from '../registry/reference.ts';
import { revocationNotice } from '../registry/revocation-notice.ts';
import type { ActivityDeps } from './deps.ts';

/** Tags checked by one activity call: the paging bound that keeps each call short and heartbeating. */
export const MONITOR_PAGE_SIZE = 50;

/** Tags of a page checked at once: registry reads and VSA verifications in flight. */
const MONITOR_TAGS_IN_HAND = 8;

/** Tags that attach artifacts to an image: the referrers tag schema and cosign's `.att`/`.sig`/`.sbom`. */
const ATTACHMENT_TAG = /^sha256-[0-9a-f]{64}(?:\.(?:att|sig|sbom))?$/;

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
     * published there and did not revoke, that it last published under that tag, and that
     * carries a VSA its key signed. A tag the gate moved to a revocation notice is reported
     * `revoked` on every run. Every finding is archived as a drift event before the page returns.
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
      // The VSAs of the page's tags are judged on verification threads (src/audit/verify-pool.ts),
      // started when the first one is needed; tags are checked a window at a time and their
      // findings archived in tag order, as a check one tag after the other would.
      let pool: VerifyPool<'published-vsa'> | undefined;
      const judge = (item: PublishedVsaItem) =>
        (pool ??= createVerifyPool(
          { kind: 'published-vsa', setup: {} },
          { jobs: jobsOption(undefined) },
        )).run(item);
      const checkTag = async (tag: string) => {
        Context.current().heartbeat({ repository: input.repository, tag });
        const { digest } = await client.resolve(repo, tag);
        // An attachment-shaped tag is not a release only when it names the manifest the gate
        // wrote there (the `.att` manifest, the referrers fallback index); anything else under
        // such a tag (an image pushed as `sha256-<hex>.sig`) is checked like any other tag.
        if (
          ATTACHMENT_TAG.test(tag) &&
          (await deps.archive.attachmentTag(input.repository, tag))?.digest === digest
        ) {
          return { tag, digest, skipped: true, found: [] };
        }
        const found: Array<{ kind: DriftKind; reason: string; expectedDigest?: string }> = [];
        const last = await deps.archive.lastRelease(input.repository, tag);
        // A revoked digest is reported under every tag that names it, whoever tagged it and
        // whatever was published since (docs/consumers.md#the-drift-monitor).
        const revocation = await deps.archive.revocationOf(digest);
        // The tag the revocation moved: it names the notice of the digest the gate last
        // published under it, and that digest is revoked.
        const notice =
          !revocation && last && last.digest !== digest && revocationNotice(last.digest).digest === digest
            ? await deps.archive.revocationOf(last.digest)
            : null;
        if (revocation) {
          found.push({
            kind: 'revoked',
            reason: `${input.repository}:${tag} names a revoked digest: ${describeRevocation(revocation)}`,
          });
        } else if (notice) {
          found.push({
            kind: 'revoked',
            reason: `${input.repository}:${tag} was moved to a revocation notice: ${describeRevocation(notice)}`,
            expectedDigest: last!.digest,
          });
        }
        const publishedHere =
          revocation || notice
            ? []
            : (await deps.archive.findDecisionsByDigest(digest)).filter(
                (d) => d.status === 'published' && d.published?.repository === input.repository,
              );
        if (!revocation && !notice && publishedHere.length === 0) {
          found.push({
            kind: 'unpublished-digest',
            reason: `no decision of this gate published ${digest} to ${input.repository}`,
          });
        }
        if (last && last.digest !== digest && !notice) {
          found.push({
            kind: 'tag-moved',
            reason: `${input.repository}:${tag} names ${digest}; the gate last published ${last.digest} there`,
            expectedDigest: last.digest,
          });
        }
        if (publishedHere.length > 0) {
          const verdict = await verifyPublishedImage(
            client,
            { repository: repo, digest },
            {
              publicKeys: [deps.signer.publicKeyPem],
              verifierId: deps.settings.verifierId,
              resourceUri: `oci://${input.repository}`,
              verifiedLevels: [],
            },
            { judge },
          ).catch((err: unknown) => {
            // A fault of the gate (a verification thread that crashed) fails the page: it is no finding.
            if (!isGateError(err) || err.layer === 'internal') throw err;
            return { outcome: 'FAILED' as const, failure: { code: err.code, reason: err.message } };
          });
          if (verdict.outcome !== 'PASSED') {
            found.push({
              kind: 'no-valid-vsa',
              reason: `${verdict.failure?.code}: ${verdict.failure?.reason ?? 'no VSA accepted'}`,
            });
          }
        }
        return { tag, digest, skipped: false, found };
      };
      try {
        for await (const checked of inOrder(page.tags, checkTag, MONITOR_TAGS_IN_HAND)) {
          if (checked.skipped) {
            skipped++;
            continue;
          }
          const { tag, digest, found } = checked;
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
      } finally {
        await pool?.close();
      }
      return { checked: page.tags.length - skipped, findings, ...(page.last ? { after: page.last } : {}) };
    },
  };
}

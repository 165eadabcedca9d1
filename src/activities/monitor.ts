import { Context } from '@temporalio/activity';
import type { DriftSighting } from '../archive/drift-record.ts';
import { createVerifyPool, inOrder, jobsOption, type VerifyPool } from '../audit/verify-pool.ts';
import {
  verifyPublishedImage,
  type PublishedVsaItem,
  type PublishedVsaJudgement,
} from '../consumers/published-vsa.ts';
import {
  CLOUDEVENTS_JSON,
  DRIFT_SIGNATURE_HEADER,
  driftNoticeBody,
  driftNoticeId,
  signDriftNotice,
  type DriftNotice,
} from '../consumers/drift-notice.ts';
import { GateError, isGateError } from '../core/errors.ts';
import { describeRevocation } from '../archive/revocation-record.ts';
import { releaseReferenceOf } from '../consumers/mirror-map.ts';
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

/** A finding as the monitor's workflow sees it: enough to count it and, when new, to announce it. */
export type MonitorFinding = DriftSighting & {
  driftId: string;
  /** This run saw it first: it is announced (docs/consumers.md#drift-notifications). */
  isNew: boolean;
  firstSeen: string;
};

export interface MonitorPageResult {
  checked: number;
  findings: MonitorFinding[];
  /** Where the next page starts; absent on the last page. */
  after?: string;
}

/** Which run is recording: the last-seen (and, the first time, first-seen) run of each finding. */
export interface MonitorRun {
  workflowId: string;
  runId: string;
  at: string;
}

/** How long one delivery attempt of a drift notice waits for the receiver. */
const NOTICE_TIMEOUT_MS = 30_000;

/** Known digests asked for by digest per repository and run, at most, of each source (revoked, refused). */
const UNTAGGED_PROBE_LIMIT = 500;

type Found = Pick<DriftSighting, 'kind' | 'reason' | 'expectedDigest'>;
type Judge = (item: PublishedVsaItem) => Promise<PublishedVsaJudgement>;

export function createMonitorActivities(deps: ActivityDeps) {
  /**
   * The release repository `repository` copies under the operator's mirror map
   * (docs/consumers.md#mirrors), or `repository` itself: what the gate published there is
   * what the repository must serve. Never from a request: the map is the worker's configuration.
   */
  const releaseOf = (repository: string): string =>
    releaseReferenceOf(deps.settings.mirrors ?? {}, repository);

  /**
   * Judges what a release repository, or a mirror of one, serves, under a tag or (no tag) by
   * digest: the digest must be one this gate published to the release repository and did not
   * revoke, the one it last published there under that tag, and carry a VSA its key signed for
   * that release repository, read where it is served. A tag the gate moved to a revocation
   * notice is `revoked`.
   */
  const judgeServed = async (
    repository: string,
    served: { tag?: string; digest: string },
    judge: Judge,
  ): Promise<Found[]> => {
    const { registry: host, repository: repo } = parseRepository(repository);
    const release = releaseOf(repository);
    const { tag, digest } = served;
    const where = tag === undefined ? `${repository}@${digest}` : `${repository}:${tag}`;
    const found: Found[] = [];
    const last = tag === undefined ? null : await deps.archive.lastRelease(release, tag);
    // A revoked digest is reported wherever it is served, whoever tagged it and whatever was
    // published since (docs/consumers.md#the-drift-monitor).
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
        reason: `${where} ${tag === undefined ? 'is' : 'names'} a revoked digest: ${describeRevocation(revocation)}`,
      });
    } else if (notice) {
      found.push({
        kind: 'revoked',
        reason: `${where} was moved to a revocation notice: ${describeRevocation(notice)}`,
        expectedDigest: last!.digest,
      });
    }
    const publishedHere =
      revocation || notice
        ? []
        : (await deps.archive.findDecisionsByDigest(digest)).filter(
            (d) => d.status === 'published' && d.published?.repository === release,
          );
    if (!revocation && !notice && publishedHere.length === 0) {
      found.push({
        kind: 'unpublished-digest',
        reason: `${where}: no decision of this gate published ${digest} to ${release}`,
      });
    }
    if (last && last.digest !== digest && !notice) {
      found.push({
        kind: 'tag-moved',
        reason: `${where} names ${digest}; the gate last published ${last.digest} ${release === repository ? 'there' : `as ${release}:${tag}`}`,
        expectedDigest: last.digest,
      });
    }
    if (publishedHere.length > 0) {
      const verdict = await verifyPublishedImage(
        deps.registry(host),
        { repository: repo, digest },
        {
          publicKeys: [deps.signer.publicKeyPem],
          verifierId: deps.settings.verifierId,
          resourceUri: `oci://${release}`,
          verifiedLevels: [],
        },
        { judge },
      ).catch((err: unknown) => {
        // A fault of the gate (a verification thread that crashed) fails the call: it is no finding.
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
    return found;
  };

  /** Archives what a run saw, in order; returns each finding as the workflow counts and announces it. */
  const record = async (sightings: DriftSighting[], run: MonitorRun): Promise<MonitorFinding[]> => {
    const out: MonitorFinding[] = [];
    for (const sighting of sightings) {
      const stored = await deps.archive.recordDrift(sighting, run);
      out.push({ ...sighting, ...stored });
    }
    return out;
  };

  /** Runs `body` with VSA verification threads (src/audit/verify-pool.ts), started when the first is needed. */
  const withJudge = async <T>(body: (judge: Judge) => Promise<T>): Promise<T> => {
    let pool: VerifyPool<'published-vsa'> | undefined;
    try {
      return await body((item) =>
        (pool ??= createVerifyPool(
          { kind: 'published-vsa', setup: {} },
          { jobs: jobsOption(undefined) },
        )).run(item),
      );
    } finally {
      await pool?.close();
    }
  };

  return {
    /**
     * Checks one page of tags of a release repository (judgeServed) and archives its findings
     * before the page returns.
     */
    async checkReleasePage(input: MonitorPageInput): Promise<MonitorPageResult> {
      const { registry: host, repository: repo } = parseRepository(input.repository);
      const client = deps.registry(host);
      const page = await client.listTagsPage(repo, {
        n: MONITOR_PAGE_SIZE,
        ...(input.after ? { last: input.after } : {}),
      });
      const run = { workflowId: input.workflowId, runId: input.runId, at: input.at };
      let skipped = 0;
      const sightings: DriftSighting[] = [];
      // Tags are checked a window at a time and their findings archived in tag order, as a
      // check one tag after the other would.
      await withJudge(async (judge) => {
        const checkTag = async (tag: string) => {
          Context.current().heartbeat({ repository: input.repository, tag });
          const { digest } = await client.resolve(repo, tag);
          // An attachment-shaped tag is not a release only when it names the manifest the gate
          // wrote there (the `.att` manifest, the referrers fallback index), or in a mirror, to the
          // release repository it copies (a copy keeps the digest); anything else under such a
          // tag (an image pushed as `sha256-<hex>.sig`) is checked like any other tag.
          if (
            ATTACHMENT_TAG.test(tag) &&
            (await deps.archive.attachmentTag(releaseOf(input.repository), tag))?.digest === digest
          ) {
            return { tag, digest, skipped: true, found: [] };
          }
          return {
            tag,
            digest,
            skipped: false,
            found: await judgeServed(input.repository, { tag, digest }, judge),
          };
        };
        for await (const checked of inOrder(page.tags, checkTag, MONITOR_TAGS_IN_HAND)) {
          if (checked.skipped) skipped++;
          for (const f of checked.found)
            sightings.push({ repository: input.repository, tag: checked.tag, digest: checked.digest, ...f });
        }
      });
      return {
        checked: page.tags.length - skipped,
        findings: await record(sightings, run),
        ...(page.last ? { after: page.last } : {}),
      };
    },

    /**
     * Asks a release repository for the digests this gate knows and does not vouch for
     * (revoked, refused: Archive.digestsNotVouchedFor), by digest: the distribution API lists
     * tags, never untagged manifests, so an image pushed by digest is found when the gate
     * has seen its digest. Each one served is judged as a tag's digest would be, unless a tag
     * of the run already reported it (`reported`). When the run read every tag page
     * (`complete`), what it no longer sees in the repository is closed (closeDriftNotSeen).
     */
    async checkUntaggedDigests(
      input: { repository: string; reported: string[]; complete?: boolean } & MonitorRun,
    ): Promise<MonitorPageResult> {
      const { registry: host, repository: repo } = parseRepository(input.repository);
      const client = deps.registry(host);
      const reported = new Set(input.reported);
      const known = (await deps.archive.digestsNotVouchedFor(UNTAGGED_PROBE_LIMIT)).filter(
        (digest) => !reported.has(digest),
      );
      const sightings: DriftSighting[] = [];
      await withJudge(async (judge) => {
        const probe = async (digest: string) => {
          Context.current().heartbeat({ repository: input.repository, digest });
          if (!(await client.manifestExists(repo, digest))) return { digest, found: [] };
          return { digest, found: await judgeServed(input.repository, { digest }, judge) };
        };
        for await (const { digest, found } of inOrder(known, probe, MONITOR_TAGS_IN_HAND))
          for (const f of found) sightings.push({ repository: input.repository, digest, ...f });
      });
      const run = { workflowId: input.workflowId, runId: input.runId, at: input.at };
      const findings = await record(sightings, run);
      if (input.complete) await deps.archive.closeDriftNotSeen(input.repository, run);
      return { checked: known.length, findings };
    },

    /** Archives a release repository the run could not read as an `unreadable` finding with the failure's code. */
    async recordUnreadable(
      input: { repository: string; code: string; reason: string } & MonitorRun,
    ): Promise<MonitorFinding> {
      const { repository, code, reason, ...run } = input;
      const [finding] = await record([{ repository, kind: 'unreadable', code, reason }], run);
      return finding!;
    },

    /**
     * Posts one new finding to the operator's receiver as a CloudEvents 1.0 JSON event signed
     * with HMAC-SHA256 over the exact body (docs/consumers.md#drift-notifications). Anything but
     * a 2xx is DRIFT_NOTICE_UNDELIVERED, retried by the caller's policy; the event id is the
     * delivery id, so a receiver drops a repeat. Nothing is sent when no receiver is configured.
     */
    async deliverDriftNotice(notice: DriftNotice): Promise<{ delivered: boolean }> {
      const webhook = deps.driftWebhook;
      if (!webhook) return { delivered: false };
      const body = driftNoticeBody(notice, deps.settings.verifierId);
      const id = driftNoticeId(notice);
      let status: number;
      try {
        const res = await fetch(webhook.url, {
          method: 'POST',
          headers: {
            'content-type': CLOUDEVENTS_JSON,
            [DRIFT_SIGNATURE_HEADER]: signDriftNotice(body, webhook.secret),
          },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(NOTICE_TIMEOUT_MS),
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
      } catch (cause) {
        throw new GateError('DRIFT_NOTICE_UNDELIVERED', `drift notice ${id}: the receiver did not answer`, {
          cause,
          detail: { id },
        });
      }
      if (status < 200 || status > 299)
        throw new GateError(
          'DRIFT_NOTICE_UNDELIVERED',
          `drift notice ${id}: the receiver answered ${status}`,
          {
            detail: { id, status },
          },
        );
      return { delivered: true };
    },
  };
}

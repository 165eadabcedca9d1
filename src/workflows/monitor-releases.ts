import {
  ActivityFailure,
  ApplicationFailure,
  log,
  ParentClosePolicy,
  patched,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { MonitorFinding } from '../activities/monitor.ts';
import type { DriftKind } from '../archive/drift-record.ts';
import { driftNoticeId } from '../consumers/drift-notice-id.ts';
import { deliverDriftNotice } from './deliver-drift-notice.ts';
import { scheduledActivities as io } from './scheduled-activities.ts';
import * as sa from './search-attributes.ts';

/** Pages of MONITOR_PAGE_SIZE tags one run checks per repository, at most: larger repositories are reported truncated. */
const MAX_PAGES = 200;

/**
 * Runs recorded before the monitor reported unreadable repositories, untagged digests, counts
 * and notices replay without them; new runs take every step.
 */
const NEVER_BLIND_PATCH = 'monitor-never-blind';

/**
 * What the release monitor is asked to check: release repositories as `host/repository`, or
 * mirrors of them, judged against the release repository the worker's mirror map names.
 */
export interface MonitorReleasesInput {
  repositories: string[];
}

export interface MonitorReleasesResult {
  repositories: Array<{
    repository: string;
    checked: number;
    findings: number;
    truncated: boolean;
    /** The error code the repository could not be read with: its `unreadable` finding. */
    unreadable?: string;
  }>;
  /** Findings of the run by kind, standing ones included. */
  findingsByKind?: Partial<Record<DriftKind, number>>;
  /** Findings no run saw before this one: each announced once. */
  newFindings?: number;
}

/** The error code a failed activity ended with, as the activity boundary coded it (src/activities/failures.ts). */
function failureOf(err: unknown): { code: string; reason: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) return { code: cause.type, reason: cause.message };
  return { code: 'INTERNAL_ERROR', reason: err instanceof Error ? err.message : String(err) };
}

/**
 * The drift monitor, run by a Temporal Schedule: for every release repository, its tags are
 * checked page by page, then the digests the gate knows and does not vouch for are asked for
 * by digest; every finding is archived as a standing drift finding. A repository that cannot
 * be read is an `unreadable` finding and the run goes on to the next one. The run's counts
 * by kind are its memo and search attributes, and each new finding is announced
 * (deliverDriftNotice) once.
 */
export async function monitorReleases(input: MonitorReleasesInput): Promise<MonitorReleasesResult> {
  const { workflowId, runId } = workflowInfo();
  // Workflow time is the task's start time: deterministic on replay.
  const at = new Date().toISOString();
  const neverBlind = patched(NEVER_BLIND_PATCH);
  const out: MonitorReleasesResult['repositories'] = [];
  const byKind: Partial<Record<DriftKind, number>> = {};
  const fresh: MonitorFinding[] = [];
  const note = (findings: MonitorFinding[]) => {
    for (const f of findings) {
      byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
      if (f.isNew) fresh.push(f);
    }
    return findings.length;
  };
  for (const repository of input.repositories) {
    let after: string | undefined;
    let checked = 0;
    let findings = 0;
    let pages = 0;
    let unreadable: string | undefined;
    // Digests a tag's finding of this repository already names (what it serves, or what the gate
    // last published under it, such as a digest it revoked): not reported again as served by digest.
    const reported = new Set<string>();
    try {
      do {
        const page = await io.checkReleasePage({
          repository,
          workflowId,
          runId,
          at,
          ...(after === undefined ? {} : { after }),
        });
        checked += page.checked;
        findings += note(page.findings);
        for (const f of page.findings)
          for (const d of [f.digest, f.expectedDigest]) if (d !== undefined) reported.add(d);
        after = page.after;
        pages++;
      } while (after !== undefined && pages < MAX_PAGES);
      if (neverBlind) {
        // A run that read every tag page closes what it no longer sees; a truncated one cannot tell.
        const complete = after === undefined;
        findings += note(
          (
            await io.checkUntaggedDigests({
              repository,
              reported: [...reported],
              complete,
              workflowId,
              runId,
              at,
            })
          ).findings,
        );
      }
    } catch (err) {
      // docs/consumers.md#the-drift-monitor: one repository that cannot be read is a finding,
      // never a reason to leave the others unchecked.
      if (!neverBlind) throw err;
      const failure = failureOf(err);
      unreadable = failure.code;
      findings += note([await io.recordUnreadable({ repository, ...failure, workflowId, runId, at })]);
    }
    if (findings > 0)
      log.warn('release drift', { repository, findings, ...(unreadable ? { unreadable } : {}) });
    out.push({
      repository,
      checked,
      findings,
      truncated: after !== undefined,
      ...(unreadable ? { unreadable } : {}),
    });
  }
  if (!neverBlind) return { repositories: out };

  // A run that found drift shows it in the Temporal UI's list and run view.
  const total = Object.values(byKind).reduce((a, b) => a + b, 0);
  upsertSearchAttributes([
    { key: sa.DriftFindings, value: total },
    { key: sa.DriftKinds, value: Object.keys(byKind).sort() },
  ]);
  upsertMemo({ drift: { findingsByKind: byKind, newFindings: fresh.length } });
  for (const { isNew: _isNew, ...notice } of fresh) {
    try {
      await startChild(deliverDriftNotice, {
        workflowId: `drift-notice:${driftNoticeId(notice)}`,
        args: [notice],
        // The delivery outlives this run: a receiver that is down never holds the monitor.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      // Started before, by this run's retry or an earlier run: that one delivers it.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return { repositories: out, findingsByKind: byKind, newFindings: fresh.length };
}

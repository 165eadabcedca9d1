import { log, workflowInfo } from '@temporalio/workflow';
import { scheduledActivities as io } from './scheduled-activities.ts';

/** Pages of MONITOR_PAGE_SIZE tags one run checks per repository, at most: larger repositories are reported truncated. */
const MAX_PAGES = 200;

/** What the release monitor is asked to check: release repositories as `host/repository`. */
export interface MonitorReleasesInput {
  repositories: string[];
}

export interface MonitorReleasesResult {
  repositories: Array<{ repository: string; checked: number; findings: number; truncated: boolean }>;
}

/**
 * The drift monitor, run by a Temporal Schedule: for every release repository, list its tags
 * page by page, and have each page checked and its findings archived as drift events
 * (a tag naming a digest this gate did not publish there, a moved tag, a missing VSA).
 */
export async function monitorReleases(input: MonitorReleasesInput): Promise<MonitorReleasesResult> {
  const { workflowId, runId } = workflowInfo();
  // Workflow time is the task's start time: deterministic on replay.
  const at = new Date().toISOString();
  const out: MonitorReleasesResult['repositories'] = [];
  for (const repository of input.repositories) {
    let after: string | undefined;
    let checked = 0;
    let findings = 0;
    let pages = 0;
    do {
      const page = await io.checkReleasePage({
        repository,
        workflowId,
        runId,
        at,
        ...(after === undefined ? {} : { after }),
      });
      checked += page.checked;
      findings += page.findings.length;
      after = page.after;
      pages++;
    } while (after !== undefined && pages < MAX_PAGES);
    if (findings > 0) log.warn('release drift', { repository, findings });
    out.push({ repository, checked, findings, truncated: after !== undefined });
  }
  return { repositories: out };
}

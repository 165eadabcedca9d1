import type { PublishProgress, Verdict } from '../../workflows/contract.ts';
import { terminalSafe } from '../terminal-safe.ts';
import { checksTable } from '../text-table.ts';

/** How a verdict's sender was known: verified by the API (and its group), or a typed name. */
export function verdictSender(v: Pick<Verdict, 'verified' | 'group'>): string {
  if (v.verified === false) return 'UNVERIFIED: typed, not authenticated';
  if (v.verified === undefined) return 'verification not recorded';
  return v.group ? `verified, group ${v.group}` : 'verified';
}

/** Prints a publish's state: one line per check, the approvals, and the verdict, or JSON. */
export function printProgress(
  progress: PublishProgress,
  opts: { json: boolean; uiUrl: string; workflowId: string },
): void {
  if (opts.json) {
    // The workflow id lets a script cancel, approve or follow the run it just started.
    console.log(
      JSON.stringify({ workflowId: opts.workflowId, ...progress, temporalUi: opts.uiUrl }, null, 2),
    );
    return;
  }
  // Reasons, origins and references quote signed or requested text: each line is printed terminal-safe.
  const print = (line: string) => console.log(terminalSafe(line));
  print(`status: ${progress.status}${progress.outcome ? ` (policy outcome ${progress.outcome})` : ''}`);
  // The checks as `audit show` prints them: one renderer, one reading of a check.
  if (progress.checks.length > 0)
    for (const line of checksTable(progress.checks).split('\n')) print(`  ${line}`);
  // Attestations that did not count, each once; the verdict line names only the first reason.
  for (const r of progress.result?.rejected ?? []) print(`  REJECTED ${r.code} ${r.origin}: ${r.reason}`);
  const approvals = progress.approvals ?? progress.result?.approvals;
  if (progress.approvalDeadline && progress.status === 'AwaitingApproval') {
    const count = approvals
      ? ` (${approvals.given.filter((g) => g.verdict === 'approve').length} of ${approvals.required})`
      : '';
    print(`awaiting approval${count} until ${progress.approvalDeadline}`);
  }
  for (const given of approvals?.given ?? []) {
    const verb = given.verdict === 'approve' ? 'approved' : 'rejected';
    print(`  ${verb} by ${given.approver} (${verdictSender(given)}) at ${given.at}: ${given.reason}`);
  }
  const result = progress.result;
  if (result?.status === 'PUBLISHED')
    print(`PUBLISHED: ${result.published?.reference} (VSA ${result.published?.vsaDigest})`);
  if (result?.status === 'DENIED') print(`DENIED: ${result.code}: ${result.reason}`);
  print(`Temporal UI: ${opts.uiUrl}`);
}

import type { PublishProgress } from '../../workflows/contract.ts';

/** Prints a publish's state: one line per check and the verdict, or JSON. */
export function printProgress(progress: PublishProgress, opts: { json: boolean; uiUrl: string }): void {
  if (opts.json) {
    console.log(JSON.stringify({ ...progress, temporalUi: opts.uiUrl }, null, 2));
    return;
  }
  console.log(`status: ${progress.status}${progress.outcome ? ` (policy outcome ${progress.outcome})` : ''}`);
  for (const check of progress.checks) {
    const code = check.code ? ` ${check.code}` : '';
    console.log(`  ${check.result.padEnd(7)} ${check.id.padEnd(13)}${code} ${check.reason}`);
  }
  if (progress.approvalDeadline && progress.status === 'AwaitingApproval') {
    console.log(`awaiting approval until ${progress.approvalDeadline}`);
  }
  const result = progress.result;
  if (result?.status === 'PUBLISHED')
    console.log(`PUBLISHED: ${result.published?.reference} (VSA ${result.published?.vsaDigest})`);
  if (result?.status === 'DENIED') console.log(`DENIED: ${result.code}: ${result.reason}`);
  console.log(`Temporal UI: ${opts.uiUrl}`);
}

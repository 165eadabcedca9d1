/**
 * The CLI's tables: `audit list`, `audit show` and the publish progress print checks and
 * decisions through these, so a check reads the same wherever it is shown.
 */
import type { CheckResult } from '../core/model.ts';
import { terminalSafe } from './terminal-safe.ts';

/** Columns padded to their widest cell, two spaces apart; each row one line. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Cells quote archived, signed text (builder ids, reasons): terminal-safe, so a row stays one line.
  const line = (cells: string[]) =>
    cells
      .map((c, i) => terminalSafe(c).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * A decision's checks, in the order they ran: the five SLSA checks (builder, build-level,
 * source, entrypoint, dependencies) among the guards (subject, identity, destination, …).
 */
export function checksTable(
  checks: ReadonlyArray<Pick<CheckResult, 'id' | 'result' | 'code' | 'level' | 'reason'>>,
): string {
  return textTable(
    ['CHECK', 'RESULT', 'CODE', 'LEVEL', 'REASON'],
    checks.map((c) => [c.id, c.result, c.code ?? '', c.level?.toString() ?? '', c.reason]),
  );
}

/**
 * The benches' report: each prints its section and writes it into docs/benchmarks.md between
 * its own markers (`<!-- bench:NAME:start -->` … `<!-- bench:NAME:end -->`), leaving the other
 * benches' sections as they are.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOC = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

/** Prints `lines` and, when `write`, replaces (or appends) the section `name` of docs/benchmarks.md. */
export function reportSection(name: string, lines: string[], write = true): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  console.log(lines.join('\n'));
  if (!write) return;
  const section = [start, ...lines, end].join('\n');
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const next = current.includes(start)
    ? current.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => section)
    : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(DOC, next);
  console.log(`\nwritten to ${DOC}`);
}

/** The median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The 1, 5 and 15 minute load averages (Linux), for the reader of a figure taken on a shared machine. */
export function loadAverage(): string {
  return existsSync('/proc/loadavg')
    ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    : 'unknown';
}

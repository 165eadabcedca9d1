/**
 * The one reading of the auditors' time bounds (`--since`, `--until`, the API's `since` and
 * `until`, `audit impact --since`): a date `YYYY-MM-DD` is the start of that UTC day, and an
 * ISO-8601 instant must carry its offset (`Z` or `±HH:MM`), so no bound depends on the time
 * zone of the machine that reads it. `--until` is exclusive: `--since 2026-11-30 --until
 * 2026-12-01` is the whole of 30 November, UTC (docs/audit.md#dates-and-times).
 */
import * as z from 'zod';
import { GateError } from '../core/errors.ts';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// RFC 3339 §5.6 date-time, seconds optional, at most millisecond precision (what the archive stamps).
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/** What a time bound accepts, for messages and usage texts. */
export const TIME_FORMS =
  'a date YYYY-MM-DD (the start of that UTC day) or an ISO-8601 instant with its offset (2026-11-30T10:00:00Z, 2026-11-30T12:00:00+02:00)';

/** The UTC instant of a time bound as `YYYY-MM-DDTHH:MM:SS.sssZ`, or undefined when it is neither form. */
export function auditInstant(value: string): string | undefined {
  const date = DATE.exec(value);
  const instant = date ? undefined : INSTANT.exec(value);
  const m = date ?? instant;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? '').padEnd(3, '0'));
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC rolls 30 February over into March and maps years below 100 to 19xx: refuse both.
  if (
    utc.getUTCFullYear() !== year ||
    utc.getUTCMonth() !== month - 1 ||
    utc.getUTCDate() !== day ||
    utc.getUTCHours() !== hour ||
    utc.getUTCMinutes() !== minute ||
    utc.getUTCSeconds() !== second
  )
    return undefined;
  if (instant && m[8] !== 'Z') {
    const [offsetHours, offsetMinutes] = [Number(m[10]), Number(m[11])];
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    const sign = m[9] === '+' ? 1 : -1;
    utc.setTime(utc.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
  }
  return utc.toISOString();
}

function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** Why `value` is no time bound (the flag or parameter name is added by the caller). */
export function timeProblem(value: string): string {
  return `${shown(value)} is not ${TIME_FORMS}`;
}

/** The UTC instant of flag `flag` (`--since`, `--until`); INPUT_INVALID naming the flag and the value otherwise. */
export function parseAuditTime(flag: string, value: string): string {
  const iso = auditInstant(value);
  if (iso === undefined)
    throw new GateError('INPUT_INVALID', `${flag} ${timeProblem(value)}`, { detail: { flag, value } });
  return iso;
}

/** A time bound in a schema: either form in, the UTC instant out. */
export const AuditTimeSchema = z.string().transform((value, ctx) => {
  const iso = auditInstant(value);
  if (iso === undefined) {
    ctx.addIssue({ code: 'custom', message: timeProblem(value), input: value });
    return z.NEVER;
  }
  return iso;
});

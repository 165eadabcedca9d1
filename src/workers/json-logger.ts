/**
 * The worker's log: one JSON object per line on standard output, for a log collector
 * (docs/operations.md#logs). Everything the Temporal SDK logs goes through it (the Runtime's
 * logger: the SDK itself, the workflow and activity context loggers, and the core's own lines
 * at WARN and above), with the fields the SDK attaches (workflowId, runId, activityType, …).
 */
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/** One entry as a JSON line: time, level and message first, then the entry's fields. */
export function jsonLogLine(entry: LogEntry): string {
  const { time: _t, level: _l, msg: _m, ...fields } = entry.meta ?? {};
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify(
    { time, level: entry.level, msg: entry.message, ...fields },
    (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      // An error's message and type; its stack stays out of the log (SLSA_GATE_DEBUG is for that).
      if (value instanceof Error) return { name: value.name, message: value.message };
      return value;
    },
  );
}

/** A Runtime logger writing JSON lines at `level` and above to `write` (standard output by default). */
export function jsonLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(jsonLogLine(entry)));
}

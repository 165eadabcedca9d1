import { GateError } from '../../core/errors.ts';

/** The longest wait a `--timeout` may ask for: an hour. */
const MAX_SECONDS = 3600;

/** A `--timeout SECONDS` value (1 to 3600 whole seconds), or `fallback` when it was not given. */
export function secondsOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const seconds = Number(value);
  if (!/^\d{1,4}$/.test(value) || seconds < 1 || seconds > MAX_SECONDS)
    throw new GateError('INPUT_INVALID', `--timeout ${value}: whole seconds from 1 to ${MAX_SECONDS}`, {
      detail: { field: '--timeout' },
    });
  return seconds;
}

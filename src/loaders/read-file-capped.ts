/**
 * Reading a file with its size cap applied before the memory is spent
 * (docs/checklist.md#row-25, docs/security-model.md#file-size-caps): every file slsa-gate reads
 * (configuration, trust material, policies, inputs) goes through `readFileCapped` with one of
 * the caps below. The size is checked from `fstat` before a regular file is read, and anything
 * else (a device such as /dev/zero, a pipe) is read in chunks that stop one byte past the cap.
 * A file that grows between the check and the read is caught by the same bounded loop.
 *
 * Special files are opened non-blocking: opening a FIFO nobody writes to would otherwise
 * block the process for ever (open(2) waits for a writer). A pipe or device that stays silent
 * for `SPECIAL_FILE_STALL_MS` is refused as unreadable.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { GateError, type ErrorCode } from '../core/errors.ts';

const CHUNK_BYTES = 1 << 20;

/** A policy is a few KB of YAML; a larger file is refused before it is read. */
export const POLICY_FILE_LIMIT_BYTES = 1 << 20;
/**
 * An operator's configuration file (trust map, attestors configuration, API tokens, registry
 * credentials, saved queries): a few KB of YAML or JSON.
 */
export const CONFIG_FILE_LIMIT_BYTES = 1 << 20;
/** A static levels file lists repositories one entry each: room for tens of thousands. */
export const STATIC_LEVELS_FILE_LIMIT_BYTES = 4 << 20;
/** Trust files are small (the public-good root is ~10 KB); anything larger is refused before it is read. */
export const TRUST_FILE_LIMIT_BYTES = 4 << 20;
/** A PEM public or private key, with room for an RSA-8192 key and comments. */
export const KEY_FILE_LIMIT_BYTES = 64 << 10;
/** A PEM certificate chain or CA bundle (a system bundle is ~200 KB). */
export const CERTIFICATE_FILE_LIMIT_BYTES = 1 << 20;

/** How long a pipe or device may stay silent before it is refused as unreadable. */
export const SPECIAL_FILE_STALL_MS = 30_000;
const STALL_POLL_MS = 10;

/** Which code a file that cannot be read is reported under: the user's input, or the operator's configuration. */
export type FileRole = 'input' | 'config';

function unreadable(role: FileRole, what: string, path: string, message: string, cause?: unknown): never {
  const code: ErrorCode = role === 'config' ? 'CONFIG_INVALID' : 'INPUT_INVALID';
  throw new GateError(code, `cannot read ${what} ${path}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    detail: { file: path },
  });
}

function tooLarge(what: string, path: string, cap: number, size?: number): never {
  const read = size === undefined ? `more than ${cap} bytes` : `${size} bytes, more than ${cap}`;
  throw new GateError('LIMIT_EXCEEDED', `${what} ${path}: ${read}`, {
    detail: { file: path, limit: cap },
  });
}

const pause = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

/**
 * The bytes of `path`, at most `cap` of them: LIMIT_EXCEEDED past the cap (before reading
 * a regular file), INPUT_INVALID/CONFIG_INVALID naming the file when it cannot be read, is a
 * directory, or is a pipe or device that gives nothing for `stallMs`.
 */
export function readFileCapped(
  path: string,
  cap: number,
  what: string,
  role: FileRole = 'input',
  stallMs = SPECIAL_FILE_STALL_MS,
): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK changes nothing for a regular file; for a FIFO it makes open(2) return at once.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    unreadable(role, what, path, (cause as Error).message, cause);
  }
  try {
    let stat;
    try {
      stat = fstatSync(fd);
    } catch (cause) {
      unreadable(role, what, path, (cause as Error).message, cause);
    }
    if (stat.isDirectory()) unreadable(role, what, path, 'is a directory');
    if (stat.isFile() && stat.size > cap) tooLarge(what, path, cap, stat.size);
    // A FIFO reads as empty until its writer opens it: only a read after data came is its end.
    const emptyMeansNoWriterYet = stat.isFIFO() || stat.isSocket();
    const chunks: Buffer[] = [];
    let total = 0;
    let silentSince = Date.now();
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, cap + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EAGAIN')
          unreadable(role, what, path, (cause as Error).message, cause);
        n = -1;
      }
      if (n === 0 && !(emptyMeansNoWriterYet && total === 0)) break;
      if (n > 0) {
        total += n;
        if (total > cap) tooLarge(what, path, cap);
        chunks.push(chunk.subarray(0, n));
        silentSince = Date.now();
        continue;
      }
      if (Date.now() - silentSince >= stallMs)
        unreadable(role, what, path, `nothing to read for ${stallMs} ms (a pipe with no writer?)`);
      sleep(STALL_POLL_MS);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** The text of an operator's configuration file, capped as `readFileCapped`; unreadable is CONFIG_INVALID. */
export function readConfigText(path: string, cap: number, what: string): string {
  return readFileCapped(path, cap, what, 'config').toString('utf8');
}

/**
 * Reading a file with its size cap applied before the memory is spent (issue 11 §9,
 * docs/checklist.md#row-25): the size is checked from `fstat` before a regular file is read,
 * and anything else (a device such as /dev/zero, a pipe) is read in chunks that stop
 * one byte past the cap. A file that grows between the check and the read is caught
 * by the same bounded loop.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GateError, type ErrorCode } from '../core/errors.ts';

const CHUNK_BYTES = 1 << 20;

/** A policy is a few KB of YAML; a larger file is refused before it is read. */
export const POLICY_FILE_LIMIT_BYTES = 1 << 20;

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

/**
 * The bytes of `path`, at most `cap` of them: LIMIT_EXCEEDED past the cap (before reading
 * a regular file), INPUT_INVALID/CONFIG_INVALID naming the file when it cannot be read or
 * is a directory.
 */
export function readFileCapped(path: string, cap: number, what: string, role: FileRole = 'input'): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
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
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, cap + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (cause) {
        unreadable(role, what, path, (cause as Error).message, cause);
      }
      if (n === 0) break;
      total += n;
      if (total > cap) tooLarge(what, path, cap);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

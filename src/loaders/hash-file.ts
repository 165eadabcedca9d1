/**
 * The artifact under decision, hashed as a stream: its size is not bounded by what fits
 * in memory or in one Buffer (Node refuses `readFileSync` past 2 GiB), so artifacts of
 * any size verify.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GateError } from '../core/errors.ts';
import { readFileCapped } from './read-file-capped.ts';

/**
 * Artifacts up to this size are also kept in memory: a message-signature bundle signs the
 * artifact bytes, and Ed25519 cannot be checked over a digest. Larger artifacts are
 * verified by digest (ECDSA and RSA signatures over the sha256 digest still verify).
 */
export const ARTIFACT_BYTES_KEPT_LIMIT = 64 << 20;

export interface HashedFile {
  sha256: string;
  sha512: string;
  size: number;
  /** The bytes, when the file is at most ARTIFACT_BYTES_KEPT_LIMIT. */
  bytes?: Buffer;
}

function unreadable(path: string, message: string, cause?: unknown): never {
  throw new GateError('INPUT_INVALID', `cannot read artifact ${path}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    detail: { file: path },
  });
}

/** sha256 and sha512 of a regular file, streamed; anything else (a directory, a device, a pipe) is INPUT_INVALID. */
export async function hashFile(path: string): Promise<HashedFile> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) unreadable(path, 'not a regular file');
    size = s.size;
  } catch (cause) {
    if (cause instanceof GateError) throw cause;
    unreadable(path, (cause as Error).message, cause);
  }
  if (size <= ARTIFACT_BYTES_KEPT_LIMIT) {
    // Small enough to keep: read once (capped, in case it grew since the stat) and hash those bytes.
    const bytes = readFileCapped(path, ARTIFACT_BYTES_KEPT_LIMIT, 'artifact');
    return {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sha512: createHash('sha512').update(bytes).digest('hex'),
      size: bytes.length,
      bytes,
    };
  }
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let read = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      sha256.update(chunk as Buffer);
      sha512.update(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
  } catch (cause) {
    unreadable(path, (cause as Error).message, cause);
  }
  return { sha256: sha256.digest('hex'), sha512: sha512.digest('hex'), size: read };
}

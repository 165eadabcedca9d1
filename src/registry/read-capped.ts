import { isGateError } from '../core/errors.ts';
import { registryError } from './registry-error.ts';

/**
 * Reads a response body into memory, refusing more than `maxBytes`: the
 * Content-Length is checked before reading, and the running count while
 * streaming, so an oversized body is never buffered (docs/checklist.md#row-25).
 */
export async function readCapped(res: Response, maxBytes: number, where: string): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(where, maxBytes, Number(declared));
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(where, maxBytes, total);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (isGateError(err)) throw err;
    throw registryError(
      'REGISTRY_UNAVAILABLE',
      `${where}: connection failed while reading the body`,
      { where },
      err,
    );
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(where: string, maxBytes: number, seen: number) {
  return registryError(
    'LIMIT_EXCEEDED',
    `${where}: body exceeds the limit of ${maxBytes} bytes (at least ${seen})`,
    {
      where,
      limit: maxBytes,
      seen,
    },
  );
}

/**
 * Byte spans of JSON values inside already-validated JSON bytes, so that an embedded
 * document (a bundle inside the npm attestations document) is archived as exactly the
 * bytes received. Works on UTF-8 bytes directly: multi-byte sequences never contain the
 * ASCII structural characters.
 */

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && WS.has(b[i]!)) i++;
  return i;
}

/** End (exclusive) of the string starting at `i` (a `"`). */
function skipString(b: Uint8Array, i: number): number {
  i++;
  while (i < b.length && b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1;
  return i + 1;
}

/** End (exclusive) of the value starting at `i`. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i]!;
      if (d === 0x22) {
        i = skipString(b, i);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < b.length && !WS.has(b[i]!) && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d) i++;
  return i;
}

/** The members of the object starting at `i`: decoded key and value span. */
function members(b: Uint8Array, i: number): Array<{ key: string; start: number; end: number }> {
  const out: Array<{ key: string; start: number; end: number }> = [];
  i = skipWs(b, i + 1);
  while (i < b.length && b[i] !== 0x7d) {
    const keyEnd = skipString(b, i);
    const key = JSON.parse(new TextDecoder().decode(b.subarray(i, keyEnd))) as string;
    i = skipWs(b, skipWs(b, keyEnd) + 1); // past ':'
    const end = skipValue(b, i);
    out.push({ key, start: i, end });
    i = skipWs(b, end);
    if (b[i] === 0x2c) i = skipWs(b, i + 1);
  }
  return out;
}

/** The elements of the array starting at `i`, as spans. */
function elements(b: Uint8Array, i: number): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  i = skipWs(b, i + 1);
  while (i < b.length && b[i] !== 0x5d) {
    const end = skipValue(b, i);
    out.push({ start: i, end });
    i = skipWs(b, end);
    if (b[i] === 0x2c) i = skipWs(b, i + 1);
  }
  return out;
}

/**
 * Spans of `attestations[i].bundle` in an npm attestations document, in order; undefined
 * where the element has no `bundle` object. The bytes must be valid JSON without
 * duplicate keys (parseStrictJson first).
 */
export function npmBundleSpans(bytes: Uint8Array): Array<{ start: number; end: number } | undefined> {
  const root = skipWs(bytes, 0);
  if (bytes[root] !== 0x7b) return [];
  const list = members(bytes, root).find((m) => m.key === 'attestations');
  if (list === undefined || bytes[list.start] !== 0x5b) return [];
  return elements(bytes, list.start).map((el) => {
    if (bytes[el.start] !== 0x7b) return undefined;
    const bundle = members(bytes, el.start).find((m) => m.key === 'bundle');
    return bundle === undefined ? undefined : { start: bundle.start, end: bundle.end };
  });
}

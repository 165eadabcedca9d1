import { GateError } from '../errors.ts';

/**
 * Limits on the shape of a JSON document, checked by a linear scan before `JSON.parse`
 * builds anything (docs/checklist.md#row-25): a 2M-deep array in 4 MB or 820k keys
 * in 9.7 MB cost seconds and hundreds of MB once parsed. A Sigstore bundle nests about
 * eight levels and carries a few dozen keys; an npm attestations document of 1000
 * bundles stays far below the key count.
 */
export const JSON_LIMITS = {
  maxDepth: 128,
  maxKeys: 100_000,
} as const;

function decodeUtf8(bytes: Uint8Array, origin: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new GateError('BUNDLE_MALFORMED', `${origin}: not valid UTF-8`, { cause, detail: { origin } });
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new GateError('BUNDLE_MALFORMED', `${origin}: JSON starts with a byte-order mark`, {
      detail: { origin },
    });
  }
  return text;
}

/**
 * The text of JSON bytes, checked before anything is parsed: invalid UTF-8 or a byte-order
 * mark is BUNDLE_MALFORMED, nesting or key counts over JSON_LIMITS are LIMIT_EXCEEDED; with
 * the JSON path of the first repeated key, if any (scanJson).
 */
export function scanJsonBytes(bytes: Uint8Array, origin: string): { text: string; duplicate?: string } {
  const text = decodeUtf8(bytes, origin);
  const duplicate = scanJson(text, origin);
  return duplicate === undefined ? { text } : { text, duplicate };
}

/** BUNDLE_MALFORMED for a repeated key at `path` (docs/checklist.md#row-17). */
export function duplicateKeyError(origin: string, path: string): GateError {
  return new GateError('BUNDLE_MALFORMED', `${origin}: duplicate JSON key at ${path}`, {
    detail: { origin, path },
  });
}

/**
 * Parse JSON bytes exactly as received, rejecting invalid UTF-8, a byte-order mark,
 * nesting and key counts over JSON_LIMITS, and duplicate object keys at any depth
 * (docs/checklist.md#row-17: `JSON.parse` alone keeps the last duplicate, so two verifiers could
 * read two different documents).
 */
export function parseStrictJson(bytes: Uint8Array, origin: string): unknown {
  const { text, duplicate } = scanJsonBytes(bytes, origin);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new GateError('BUNDLE_MALFORMED', `${origin}: invalid JSON: ${(cause as Error).message}`, {
      cause,
      detail: { origin },
    });
  }
  if (duplicate !== undefined) throw duplicateKeyError(origin, duplicate);
  return value;
}

type Frame =
  | { kind: 'object'; keys: Set<string>; expectKey: boolean; path: string; last: string }
  | { kind: 'array'; path: string; index: number };

function overLimit(origin: string, path: string, message: string): never {
  // A path 128 levels deep is mostly `[0]`: its start says where.
  const where = path.length > 160 ? `${path.slice(0, 160)}…` : path;
  throw new GateError('LIMIT_EXCEEDED', `${origin}: ${message} at ${where}`, {
    detail: { origin, path },
  });
}

/**
 * Scan JSON text for an object with a repeated key; returns the JSON path of the second
 * occurrence, or undefined. Keys are compared after unescaping, so `"a"` and `"\u0061"`
 * are the same key. Throws LIMIT_EXCEEDED as soon as the nesting or the key count passes
 * JSON_LIMITS, so the scan stops early on hostile input. On invalid JSON it finishes
 * without error; `JSON.parse` reports that.
 */
export function scanJson(text: string, origin: string): string | undefined {
  const stack: Frame[] = [];
  let keys = 0;
  let duplicate: string | undefined;
  const here = (): string => {
    const top = stack.at(-1);
    if (!top) return '$';
    return top.kind === 'object' ? `${top.path}.${top.last}` : `${top.path}[${top.index}]`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= JSON_LIMITS.maxDepth) {
        overLimit(origin, here(), `JSON nested deeper than ${JSON_LIMITS.maxDepth} levels`);
      }
      stack.push(
        c === 0x7b
          ? { kind: 'object', keys: new Set(), expectKey: true, path: here(), last: '' }
          : { kind: 'array', path: here(), index: 0 },
      );
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      const top = stack.at(-1);
      if (top?.kind === 'object' && top.expectKey) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        } catch {
          return duplicate; // an invalid escape: JSON.parse reports the document
        }
        top.last = key;
        if (++keys > JSON_LIMITS.maxKeys) {
          overLimit(origin, here(), `more than ${JSON_LIMITS.maxKeys} JSON object keys`);
        }
        if (top.keys.has(key)) duplicate ??= `${top.path}.${key}`;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    }
  }
  return duplicate;
}

/** The JSON path of the first repeated key in JSON text, or undefined (scanJson without an origin to report limits under). */
export function findDuplicateKey(text: string): string | undefined {
  return scanJson(text, 'JSON text');
}

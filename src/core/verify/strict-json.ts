import { GateError } from '../errors.ts';

/**
 * Parse JSON bytes exactly as received, rejecting invalid UTF-8, a byte-order mark
 * and duplicate object keys at any depth (CHECKLIST row 17: `JSON.parse` alone keeps
 * the last duplicate, so two verifiers could read two different documents).
 */
export function parseStrictJson(bytes: Uint8Array, origin: string): unknown {
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new GateError('BUNDLE_MALFORMED', `${origin}: invalid JSON: ${(cause as Error).message}`, {
      cause,
      detail: { origin },
    });
  }
  const dup = findDuplicateKey(text);
  if (dup !== undefined) {
    throw new GateError('BUNDLE_MALFORMED', `${origin}: duplicate JSON key at ${dup}`, {
      detail: { origin, path: dup },
    });
  }
  return value;
}

type Frame =
  | { kind: 'object'; keys: Set<string>; expectKey: boolean; path: string; last: string }
  | { kind: 'array'; path: string; index: number };

/**
 * Scan already-validated JSON text for an object with a repeated key; returns the
 * JSON path of the second occurrence, or undefined. Keys are compared after
 * unescaping, so `"a"` and `"\u0061"` are the same key.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  const here = (): string => {
    const top = stack.at(-1);
    if (!top) return '$';
    return top.kind === 'object' ? `${top.path}.${top.last}` : `${top.path}[${top.index}]`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', keys: new Set(), expectKey: true, path: here(), last: '' });
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'array', path: here(), index: 0 });
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
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        top.last = key;
        if (top.keys.has(key)) return `${top.path}.${key}`;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}

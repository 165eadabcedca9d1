/** Every DER value (`rawBytes`) the real-world corpus holds: certificates and keys of upstream trusted roots and bundles. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASN1Obj } from '@sigstore/core';

const CORPUS = fileURLToPath(new URL('../fixtures/corpus', import.meta.url));

/** Every `rawBytes` value in the corpus's JSON and JSON-lines files that parses as DER. */
export function corpusDer(): Array<Buffer<ArrayBuffer>> {
  const found = new Map<string, Buffer<ArrayBuffer>>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'rawBytes' && typeof value === 'string') found.set(value, Buffer.from(value, 'base64'));
        else visit(value);
      }
    }
  };
  for (const file of readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(json|jsonl)$/.test(file)) continue;
    for (const line of readFileSync(join(CORPUS, file), 'utf8').split('\n')) {
      try {
        visit(JSON.parse(line));
      } catch {
        // A line that is not JSON on its own (a pretty-printed .json file): read the file whole.
        try {
          visit(JSON.parse(readFileSync(join(CORPUS, file), 'utf8')));
        } catch {
          // Not JSON: nothing to collect.
        }
        break;
      }
    }
  }
  return [...found.values()].filter((der) => {
    try {
      ASN1Obj.parseBuffer(der);
      return true;
    } catch {
      return false;
    }
  });
}

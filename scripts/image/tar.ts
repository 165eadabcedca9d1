/**
 * A reproducible tar writer for image layers: POSIX ustar headers (pax extended headers for
 * paths and link targets ustar cannot hold), owner 0:0 unless given, mtime 0, entries in the
 * order given. The same entries always give the same bytes, so the same tree always gives the
 * same layer digest (POSIX.1-2008 pax, "ustar Interchange Format" and "pax Extended Header").
 */

/** One entry of a layer; paths are relative (`app/bin/slsa-gate.js`), directories without a trailing slash. */
export type TarEntry =
  | { kind: 'dir'; path: string; mode: number; uid?: number; gid?: number }
  | { kind: 'file'; path: string; mode: number; bytes: Uint8Array; uid?: number; gid?: number }
  | { kind: 'symlink'; path: string; target: string };

const BLOCK = 512;
const encoder = new TextEncoder();

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One 512-byte header; `name` and `prefix` already fit their fields. */
function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  type: string;
  linkname: string;
}): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, text: string) => h.set(encoder.encode(text), offset);
  put(0, fields.name);
  put(100, octal(fields.mode, 8));
  put(108, octal(fields.uid, 8));
  put(116, octal(fields.gid, 8));
  put(124, octal(fields.size, 12));
  put(136, octal(0, 12));
  put(148, '        ');
  put(156, fields.type);
  put(157, fields.linkname);
  put(257, 'ustar\0');
  put(263, '00');
  put(345, fields.prefix);
  const checksum = h.reduce((sum, b) => sum + b, 0);
  put(148, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** `path` as ustar name and prefix, or undefined when it needs a pax header. */
function ustarName(path: string): { name: string; prefix: string } | undefined {
  const bytes = encoder.encode(path).byteLength;
  if (bytes <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(prefix).byteLength <= 155 && encoder.encode(name).byteLength <= 100)
      return { name, prefix };
  }
  return undefined;
}

/** A pax record: "<length> <key>=<value>\n", where the length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = encoder.encode(body).byteLength;
  for (;;) {
    const total = encoder.encode(`${length}${body}`).byteLength;
    if (total === length) return `${length}${body}`;
    length = total;
  }
}

function padded(bytes: Uint8Array): Uint8Array[] {
  const rest = bytes.byteLength % BLOCK;
  return rest === 0 ? [bytes] : [bytes, new Uint8Array(BLOCK - rest)];
}

/** The tar archive of `entries`, in that order, with the two zero blocks that end it. */
export function tarLayer(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const path = e.kind === 'dir' ? `${e.path}/` : e.path;
    const linkname = e.kind === 'symlink' ? e.target : '';
    let names = ustarName(path);
    const pax: string[] = [];
    if (!names) {
      pax.push(paxRecord('path', path));
      names = { name: path.slice(-100).replace(/^[^/]*\//, ''), prefix: '' };
    }
    if (encoder.encode(linkname).byteLength > 100) pax.push(paxRecord('linkpath', linkname));
    if (pax.length > 0) {
      const data = encoder.encode(pax.join(''));
      parts.push(
        header({
          name: 'PaxHeader',
          prefix: '',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: data.byteLength,
          type: 'x',
          linkname: '',
        }),
        ...padded(data),
      );
    }
    const size = e.kind === 'file' ? e.bytes.byteLength : 0;
    parts.push(
      header({
        ...names,
        mode: e.kind === 'symlink' ? 0o777 : e.mode,
        uid: e.kind === 'symlink' ? 0 : (e.uid ?? 0),
        gid: e.kind === 'symlink' ? 0 : (e.gid ?? 0),
        size,
        type: e.kind === 'file' ? '0' : e.kind === 'dir' ? '5' : '2',
        linkname: linkname.length <= 100 ? linkname : '',
      }),
    );
    if (e.kind === 'file') parts.push(...padded(e.bytes));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

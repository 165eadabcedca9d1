/**
 * The package manifest inside an npm package tarball: a gzipped ustar archive whose
 * `<top>/package.json` names the package (npm's `npm pack` writes `package/`; npm reads the
 * first path component, whatever it is). Pure: bytes in, `{ name, version }` out.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as z from 'zod';
import { GateError } from '../../errors.ts';
import { NpmPackageNameSchema, NpmVersionSchema } from './package-name.ts';

/** The largest package tarball the gate reads (npm's public registry refuses larger packages). */
export const MAX_PACKAGE_TARBALL_BYTES = 64 * 1024 * 1024;
/** The largest unpacked size read while looking for package.json. */
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;
const BLOCK = 512;

/** What the gate reads of package.json: upstream format, other fields ignored. */
const PackageJsonSchema = z.looseObject({ name: NpmPackageNameSchema, version: NpmVersionSchema });

export interface PackageManifest {
  name: string;
  version: string;
}

/** The hex sha256 and sha512 of a tarball: the candidate's digest and npm's `integrity`. */
export function tarballDigests(bytes: Uint8Array): { sha256: string; sha512: string } {
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sha512: createHash('sha512').update(bytes).digest('hex'),
  };
}

/** npm's `integrity` string (Subresource Integrity, sha512) for a hex sha512. */
export function npmIntegrity(sha512Hex: string): string {
  return `sha512-${Buffer.from(sha512Hex, 'hex').toString('base64')}`;
}

function headerString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** The name and version in the tarball's package.json; INPUT_INVALID when there is none or it is malformed. */
export function readPackageManifest(tarball: Uint8Array): PackageManifest {
  const { name, version } = readPackageJson(tarball);
  return { name, version };
}

/** The tarball's package.json, whole: what `npm publish` sends as the version's metadata. */
export function readPackageJson(tarball: Uint8Array): PackageManifest & Record<string, unknown> {
  if (tarball.length > MAX_PACKAGE_TARBALL_BYTES)
    throw new GateError('LIMIT_EXCEEDED', `package tarball is over ${MAX_PACKAGE_TARBALL_BYTES} bytes`);
  let tar: Buffer;
  try {
    tar = gunzipSync(tarball, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (err) {
    throw new GateError('INPUT_INVALID', `package tarball is not gzip: ${(err as Error).message}`);
  }
  const found: Buffer[] = [];
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length;) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = Number.parseInt(headerString(header, 124, 12).trim() || '0', 8);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new GateError('INPUT_INVALID', 'package tarball has a malformed entry size');
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    // GNU long names ('L') and pax headers ('x') name the next entry.
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'x' || type === 'g') continue;
    const prefix = headerString(header, 345, 155);
    const name =
      longName ?? (prefix ? `${prefix}/${headerString(header, 0, 100)}` : headerString(header, 0, 100));
    longName = undefined;
    if ((type === '0' || type === '\0') && /^[^/]+\/package\.json$/.test(name)) found.push(body);
  }
  // Two package.json files at the top level would let a reader pick either: refused.
  if (found.length !== 1)
    throw new GateError(
      'INPUT_INVALID',
      found.length === 0
        ? 'package tarball has no <top>/package.json'
        : 'package tarball has more than one <top>/package.json',
    );
  let json: unknown;
  try {
    json = JSON.parse(found[0]!.toString('utf8'));
  } catch {
    throw new GateError('INPUT_INVALID', 'package.json in the tarball is not JSON');
  }
  const parsed = PackageJsonSchema.safeParse(json);
  if (!parsed.success)
    throw new GateError('INPUT_INVALID', `package.json in the tarball: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

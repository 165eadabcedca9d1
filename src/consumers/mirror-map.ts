/**
 * Mirrors as configuration: which image locations are copies of which release locations
 * (docs/consumers.md#mirrors). A VSA names the release repository it was issued for
 * (`resourceUri`); an image pulled from a mirror or a pull-through cache is checked against
 * the VSA of the repository it copies, read from the mirror next to the image.
 *
 * Only the operator's configured prefixes map, one step, and only the expected resource
 * changes: the VSA must still be signed by a gate key and name the digest that is checked,
 * so a mirror map cannot let an image borrow another image's VSA.
 */
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { parseRepository, type RepositoryRef } from '../registry/reference.ts';

/**
 * `host[:port]/` followed by whole repository path components, each ending in `/`: a
 * prefix matches whole components only (`mirror.example/rel/` never matches `rel-x/…`), and
 * names a registry host, so no prefix (`""`, `*`, `/`) can map every image.
 */
const LocationPrefixSchema = z.string().superRefine((prefix, ctx) => {
  const problem = prefixProblem(prefix);
  if (problem !== undefined)
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(prefix)}: ${problem}` });
});

function prefixProblem(prefix: string): string | undefined {
  if (!prefix.endsWith('/')) return 'a prefix ends with "/" (whole repository path components)';
  if (prefix !== prefix.toLowerCase()) return 'a prefix is lower case';
  if (/[*?@\s]|\/\//.test(prefix)) return 'a prefix is a literal host[:port]/path/, without wildcards';
  try {
    // A repository under the prefix must be a valid name on an explicit registry host.
    parseRepository(`${prefix}x`);
  } catch (err) {
    return err instanceof GateError ? err.message : 'not host[:port]/path/';
  }
  return undefined;
}

/** Mirror prefix → the release prefix it copies (`{"mirror.example/release/": "registry.example/release/"}`). */
export const MirrorMapSchema = z
  .record(LocationPrefixSchema, LocationPrefixSchema)
  .superRefine((map, ctx) => {
    const entries = Object.entries(map);
    if (entries.length > 100) ctx.addIssue({ code: 'custom', message: 'at most 100 mirror prefixes' });
    const overlaps = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
    for (const [i, [mirror]] of entries.entries()) {
      // One answer per image: a location is either a mirror or a release location, never both,
      // and no two mirror prefixes both match one image.
      for (const [j, [other, otherRelease]] of entries.entries()) {
        if (overlaps(mirror, otherRelease))
          ctx.addIssue({
            code: 'custom',
            message: `mirror ${mirror} overlaps the release prefix ${otherRelease}${i === j ? ' it maps to' : ''}`,
          });
        if (j > i && overlaps(mirror, other))
          ctx.addIssue({ code: 'custom', message: `mirror prefixes ${mirror} and ${other} overlap` });
      }
    }
  });
export type MirrorMap = z.infer<typeof MirrorMapSchema>;

/** Validates a mirror map; CONFIG_INVALID naming `where` (the variable or flag it came from). */
export function parseMirrorMap(value: unknown, where: string): MirrorMap {
  const parsed = MirrorMapSchema.safeParse(value);
  if (!parsed.success)
    throw new GateError('CONFIG_INVALID', `${where}: invalid mirror map: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The mirror map from SLSA_GATE_MIRRORS (a JSON object) and `MIRROR=RELEASE` pairs
 * (`--mirror`), validated together.
 */
export function loadMirrorMap(
  env: NodeJS.ProcessEnv = process.env,
  pairs: readonly string[] = [],
): MirrorMap {
  let fromEnv: unknown = {};
  const raw = env.SLSA_GATE_MIRRORS;
  if (raw !== undefined && raw.trim() !== '') {
    try {
      fromEnv = JSON.parse(raw);
    } catch {
      throw new GateError('CONFIG_INVALID', 'SLSA_GATE_MIRRORS: not a JSON object');
    }
  }
  const map = { ...parseMirrorMap(fromEnv, 'SLSA_GATE_MIRRORS') };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new GateError('CONFIG_INVALID', `--mirror ${pair}: expected MIRROR_PREFIX=RELEASE_PREFIX`);
    map[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return parseMirrorMap(map, pairs.length > 0 ? 'SLSA_GATE_MIRRORS and --mirror' : 'SLSA_GATE_MIRRORS');
}

/**
 * The release location an image location copies: the configured mirror prefix it is under,
 * replaced by its release prefix; the location itself when no mirror prefix matches.
 */
export function releaseLocationOf(mirrors: MirrorMap, location: RepositoryRef): RepositoryRef {
  const name = `${location.registry}/${location.repository}`;
  for (const [mirror, release] of Object.entries(mirrors)) {
    if (name.startsWith(mirror)) return parseRepository(`${release}${name.slice(mirror.length)}`);
  }
  return location;
}

/** The resource URI a VSA for an image at `location` names: `oci://` and its release location. */
export function expectedResourceUri(mirrors: MirrorMap, location: RepositoryRef): string {
  const release = releaseLocationOf(mirrors, location);
  return `oci://${release.registry}/${release.repository}`;
}

/**
 * An image reference (`host/repo[:tag][@digest]`) with its mirror prefix replaced by the
 * release prefix it copies (tag and digest kept); the reference itself when no prefix matches.
 */
export function releaseReferenceOf(mirrors: MirrorMap, reference: string): string {
  for (const [mirror, release] of Object.entries(mirrors)) {
    if (reference.startsWith(mirror)) return `${release}${reference.slice(mirror.length)}`;
  }
  return reference;
}

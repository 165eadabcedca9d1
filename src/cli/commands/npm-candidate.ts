/**
 * The candidate of `slsa-gate publish --package`: an npm package tarball on disk, or a
 * `name@version` on the staging npm registry. Either way the request pins the tarball's sha256
 * and sha512, and the worker reads the bytes from the staging registry and checks them against
 * the pins before anything else (docs/security-model.md#npm-packages). A tarball on disk is
 * put on the staging registry first, with the caller's staging credentials, as `npm publish` would.
 */
import { existsSync } from 'node:fs';
import { GateError } from '../../core/errors.ts';
import { NPM_PACKAGE_NAME, NPM_VERSION } from '../../core/formats/npm/package-name.ts';
import {
  MAX_PACKAGE_TARBALL_BYTES,
  npmIntegrity,
  readPackageJson,
  tarballDigests,
} from '../../core/formats/npm/package-tarball.ts';
import { readFileCapped } from '../../loaders/read-file-capped.ts';
import type { NpmRegistryClient } from '../../registry/npm-registry.ts';
import { npmRepositoryName, type Candidate } from '../../workflows/contract.ts';

/** `npm:<registry URL>` (as `--to` and SLSA_GATE_NPM_STAGING name an npm registry) → the URL. */
export function npmTarget(value: string): string | undefined {
  return value.startsWith('npm:') ? value.slice('npm:'.length) : undefined;
}

/** `name@version` or `@scope/name@version`. */
function parseSpec(spec: string): { name: string; version: string } | undefined {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return undefined;
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  return NPM_PACKAGE_NAME.test(name) && NPM_VERSION.test(version) ? { name, version } : undefined;
}

function candidateOf(
  staging: NpmRegistryClient,
  bytes: Uint8Array,
  name: string,
  version: string,
): Candidate {
  const { sha256, sha512 } = tarballDigests(bytes);
  return {
    artifactKind: 'npm-package',
    registry: staging.host,
    repository: npmRepositoryName(name),
    digest: `sha256:${sha256}`,
    mediaType: 'application/gzip',
    tag: version,
    package: { name, version, sha512 },
  };
}

/** The pinned candidate for `--package`; a tarball path is published to staging when it is not there yet. */
export async function npmCandidate(staging: NpmRegistryClient, pkg: string): Promise<Candidate> {
  const spec = existsSync(pkg) ? undefined : parseSpec(pkg);
  if (spec)
    return candidateOf(staging, await staging.tarball(spec.name, spec.version), spec.name, spec.version);
  if (!existsSync(pkg))
    throw new GateError('INPUT_INVALID', `--package ${pkg}: neither a tarball file nor name@version`, {
      detail: { field: '--package' },
    });
  const bytes = readFileCapped(pkg, MAX_PACKAGE_TARBALL_BYTES, 'package tarball');
  const packageJson = readPackageJson(bytes);
  const { name, version } = packageJson;
  const { sha512 } = tarballDigests(bytes);
  const there = (await staging.packument(name))?.versions[version];
  if (there === undefined)
    await staging.publish({
      manifest: packageJson,
      name,
      version,
      tarball: bytes,
      sha512,
      distTags: { latest: version },
    });
  else if (there.dist.integrity !== npmIntegrity(sha512))
    throw new GateError(
      'DIGEST_MISMATCH',
      `${staging.host} already has ${name}@${version} with other bytes (${there.dist.integrity ?? 'no integrity'})`,
    );
  return candidateOf(staging, bytes, name, version);
}

/**
 * npm packages through the gate: the candidate tarball is read from the staging npm registry
 * by name and version and held to the digests pinned in the request before anything else; it
 * is published to the release registry with the gate's credentials, byte for byte, so the
 * registry's `integrity` is the verified sha512 (docs/security-model.md#npm-packages).
 */
import { GateError } from '../core/errors.ts';
import { npmIntegrity, readPackageJson, tarballDigests } from '../core/formats/npm/package-tarball.ts';
import { compareSemver } from '../core/policy/guards/rollback.ts';
import type { NpmRegistryClient } from '../registry/npm-registry.ts';
import type { Candidate } from '../workflows/contract.ts';
import type { ActivityDeps } from './deps.ts';

/** The dist-tag `npm install <name>` resolves: it names the newest released version. */
const DIST_TAG = 'latest';

/**
 * What `latest` names once `version` is published: `version` when it is newer (SemVer §11
 * precedence) than the version `latest` names now, or nothing does; else the version it names
 * now. `npm publish` would move it to any version it publishes, so an older build, however well
 * verified, would become what `npm install` resolves: a rollback no tag guard sees.
 */
function latestAfter(version: string, latest: string | undefined): string {
  return latest === undefined || (compareSemver(version, latest) ?? -1) > 0 ? version : latest;
}

type NpmCandidate = Candidate & { package: NonNullable<Candidate['package']> };

function npmCandidate(candidate: Candidate): NpmCandidate {
  if (candidate.package === undefined)
    throw new GateError('INPUT_INVALID', 'the candidate is not an npm package', {
      detail: { field: 'candidate' },
    });
  return candidate as NpmCandidate;
}

function npmClient(deps: ActivityDeps, host: string): NpmRegistryClient {
  if (deps.npm === undefined)
    throw new GateError('CONFIG_INVALID', 'no npm registry is configured (SLSA_GATE_NPM_REGISTRIES)');
  return deps.npm(host);
}

/**
 * The tarball of `candidate` as `registry` serves it, checked against the pinned sha256 and
 * sha512 and against the package it claims to be: bytes that differ in any of these are
 * DIGEST_MISMATCH, a package.json naming another package is PACKAGE_MISMATCH.
 */
async function fetchPinned(
  client: NpmRegistryClient,
  candidate: NpmCandidate,
): Promise<{ bytes: Uint8Array; packageJson: ReturnType<typeof readPackageJson> }> {
  const { name, version, sha512 } = candidate.package;
  const bytes = await client.tarball(name, version);
  const digests = tarballDigests(bytes);
  if (`sha256:${digests.sha256}` !== candidate.digest || digests.sha512 !== sha512)
    throw new GateError(
      'DIGEST_MISMATCH',
      `${client.host} serves ${name}@${version} as sha256:${digests.sha256}, the request pinned ${candidate.digest}`,
    );
  const packageJson = readPackageJson(bytes);
  if (packageJson.name !== name || packageJson.version !== version)
    throw new GateError(
      'PACKAGE_MISMATCH',
      `the tarball of ${name}@${version} names ${packageJson.name}@${packageJson.version} in its package.json`,
    );
  return { bytes, packageJson };
}

/** The staging tarball is there and is the pinned bytes of the package it names. */
export async function pinNpmCandidate(deps: ActivityDeps, candidate: Candidate): Promise<void> {
  await fetchPinned(npmClient(deps, candidate.registry), npmCandidate(candidate));
}

export function createNpmPackageActivities(deps: ActivityDeps) {
  return {
    /**
     * Publishes the verified tarball to the release registry. Idempotent: a version already
     * there with the verified integrity is a retry's success; with other bytes it is
     * DIGEST_MISMATCH and nothing is written. What the registry serves afterwards is fetched
     * and compared, so a registry that changed the bytes never counts as published.
     */
    async publishNpmPackage(input: {
      candidate: Candidate;
      releaseRegistry: string;
      releaseRepository: string;
      releaseTag?: string;
    }): Promise<{ reference: string; digest: string; tag?: string }> {
      const candidate = npmCandidate(input.candidate);
      const { name, version, sha512 } = candidate.package;
      if (input.releaseRepository !== candidate.repository || (input.releaseTag ?? version) !== version)
        throw new GateError('INPUT_INVALID', 'an npm package is released under its own name and version', {
          detail: { field: 'releaseRepository' },
        });
      const release = npmClient(deps, input.releaseRegistry);
      const integrity = npmIntegrity(sha512);
      const packument = await release.packument(name);
      const there = packument?.versions[version];
      if (there === undefined) {
        const { bytes, packageJson } = await fetchPinned(npmClient(deps, candidate.registry), candidate);
        await release.publish({
          manifest: packageJson,
          name,
          version,
          tarball: bytes,
          sha512,
          distTags: { [DIST_TAG]: latestAfter(version, packument?.['dist-tags'][DIST_TAG]) },
        });
      } else if (there.dist.integrity !== integrity) {
        throw new GateError(
          'DIGEST_MISMATCH',
          `${input.releaseRegistry} already has ${name}@${version} with integrity ${there.dist.integrity ?? '(none)'}, not the verified ${integrity}`,
        );
      }
      const published = (await release.packument(name))?.versions[version];
      if (published?.dist.integrity !== integrity)
        throw new GateError(
          'DIGEST_MISMATCH',
          `${input.releaseRegistry} lists ${name}@${version} with integrity ${published?.dist.integrity ?? '(none)'}, not the verified ${integrity}`,
        );
      const served = tarballDigests(await release.tarball(name, version));
      if (`sha256:${served.sha256}` !== candidate.digest)
        throw new GateError(
          'DIGEST_MISMATCH',
          `${input.releaseRegistry} serves ${name}@${version} as sha256:${served.sha256}, verified ${candidate.digest}`,
        );
      return {
        reference: `${input.releaseRegistry}/${input.releaseRepository}:${version}@${candidate.digest}`,
        digest: candidate.digest,
        tag: version,
      };
    },
  };
}

/** The VSA's `resourceUri` for an npm package at a release registry (purl with `repository_url`). */
export function npmResourceUri(deps: ActivityDeps, candidate: Candidate, releaseRegistry: string): string {
  const { name, version } = npmCandidate(candidate).package;
  const purlName = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  const registryUrl = npmClient(deps, releaseRegistry).base.href.replace(/\/$/, '');
  return `pkg:npm/${purlName}@${version}?repository_url=${encodeURIComponent(registryUrl)}`;
}

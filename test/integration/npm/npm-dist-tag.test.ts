/**
 * The npm publisher and the `latest` dist-tag (docs/security-model.md#npm-packages): `npm
 * install <name>` takes the version `latest` names, so publishing an older version must not move
 * it back. Real staging and release Verdaccio (scripts/services.sh), the real publisher activity.
 *
 * Attacker material, made here with `tar`: two versions of one package, 2.0.0 and 1.0.1. The
 * attacker stages and requests 1.0.1 after 2.0.0 was released: an older version whose build is
 * as verified as any (say, one with a known vulnerability that was never released). The rollback
 * guard judges the version's own tag; only the publisher decides where `latest` points.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { ActivityDeps } from '../../../src/activities/deps.ts';
import { createNpmPackageActivities } from '../../../src/activities/npm-package.ts';
import { npmRegistryClients } from '../../../src/config/registry-clients.ts';
import { readPackageJson, tarballDigests } from '../../../src/core/formats/npm/package-tarball.ts';
import type { Candidate } from '../../../src/workflows/contract.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const stagingHost = new URL(services.npmStagingUrl).host;
const releaseHost = new URL(services.npmReleaseUrl).host;
const registries = [services.npmStagingUrl, services.npmReleaseUrl];

let name: string;
let dir: string;

before(() => {
  ensureServices();
  name = uniqueName('dist-tag').toLowerCase();
  dir = mkdtempSync(join(tmpdir(), 'npm-dist-tag-'));
});

/** A package tarball as `npm pack` lays it out: package/package.json. */
function tarball(version: string): Uint8Array {
  const root = join(dir, version);
  mkdirSync(join(root, 'package'), { recursive: true });
  writeFileSync(join(root, 'package', 'package.json'), JSON.stringify({ name, version }));
  const file = join(dir, `${version}.tgz`);
  execFileSync('tar', ['-czf', file, '-C', root, 'package']);
  return readFileSync(file);
}

/** Stages `version` as a CI job does, with the staging credentials, and returns its candidate. */
async function staged(version: string): Promise<Candidate> {
  const bytes = tarball(version);
  const digests = tarballDigests(bytes);
  const ci = npmRegistryClients({
    registryCredentialsFile: services.npmCiCredentials,
    npmRegistries: registries,
  })(stagingHost);
  await ci.publish({
    manifest: readPackageJson(bytes),
    name,
    version,
    tarball: bytes,
    sha512: digests.sha512,
    distTags: { latest: version },
  });
  return {
    artifactKind: 'npm-package',
    registry: stagingHost,
    repository: name,
    digest: `sha256:${digests.sha256}`,
    mediaType: 'application/gzip',
    tag: version,
    package: { name, version, sha512: digests.sha512 },
  };
}

test('publishing an older version after a newer one leaves latest on the newer one', async () => {
  // The publisher uses only the npm clients, with the gate's credentials.
  const deps = {
    npm: npmRegistryClients({
      registryCredentialsFile: services.npmGateCredentials,
      npmRegistries: registries,
    }),
  } as unknown as ActivityDeps;
  const { publishNpmPackage } = createNpmPackageActivities(deps);
  const release = npmRegistryClients({ npmRegistries: registries })(releaseHost);
  const publish = async (candidate: Candidate) =>
    publishNpmPackage({
      candidate,
      releaseRegistry: releaseHost,
      releaseRepository: name,
      releaseTag: candidate.tag!,
    });

  await publish(await staged('2.0.0'));
  assert.equal((await release.packument(name))?.['dist-tags'].latest, '2.0.0');

  await publish(await staged('1.0.1'));
  const after = await release.packument(name);
  assert.ok(after?.versions['1.0.1'], 'the older version is published');
  assert.equal(after?.['dist-tags'].latest, '2.0.0', 'latest still names the newest version');

  await publish(await staged('2.0.1'));
  assert.equal((await release.packument(name))?.['dist-tags'].latest, '2.0.1', 'a newer version moves it');
});

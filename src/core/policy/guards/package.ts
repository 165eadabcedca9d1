/**
 * Check `package`: the npm package name and version, from the npm registry's publish
 * attestation (its subject purl and predicate agree), and the same package in the
 * provenance subject (slsa-verifier npm.go verifyPackageName / verifyPackageVersion).
 * Only the registry signs publish attestations (npm/attestation specs/publish/v0.1:
 * "signed by the npm registry"; slsa-verifier verifies them with the registry's keys):
 * one that verified under any other key or certificate says nothing about the package.
 *
 * When the artifact is an npm package (the gate publishes it), its tarball's package.json
 * is a third witness: the rule's expected name (and version, if it names one), the tarball's
 * name and version, the publish attestation's subject and the provenance's `pkg:npm/` subject
 * must all be one package. A provenance that binds these bytes under another package's name
 * (generic builders let the signer choose subject names) vouches for a different release.
 * A rule that names no package publishes no npm package: a missing expectation is not "any"
 * (docs/security-model.md#npm-packages).
 */
import type { ArtifactRef, CheckResult, EvaluatedAttestation } from '../../model.ts';
import { NPM_PUBLISH_V0_1, NpmPublishV01Schema } from '../../formats/npm/publish-v0.1.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import { statementOf } from '../../verify/statement.ts';
import type { PolicyRule } from '../policy-rule.ts';
import { NPM_REGISTRY_TRUSTED_BY } from '../../trust/trust-material.ts';
import { fail, pass, skipped } from '../check-result.ts';

/** `pkg:npm/%40scope/name@1.0.0` → `{ name: '@scope/name', version: '1.0.0' }`. */
export function parseNpmPurl(purl: string | undefined): { name: string; version: string } | undefined {
  if (purl === undefined || !purl.startsWith('pkg:npm/')) return undefined;
  const rest = purl.slice('pkg:npm/'.length);
  const at = rest.lastIndexOf('@');
  if (at <= 0) return undefined;
  try {
    return { name: decodeURIComponent(rest.slice(0, at)), version: decodeURIComponent(rest.slice(at + 1)) };
  } catch {
    return undefined;
  }
}

/** Whether a configured npm registry key (trust material `npmKeys`) verified the signature. */
function signedByNpmRegistry(att: EvaluatedAttestation): boolean {
  return att.signer.kind === 'key' && att.signer.trustedBy.startsWith(NPM_REGISTRY_TRUSTED_BY);
}

type PackageArtifact = Pick<ArtifactRef, 'digests' | 'npmPackage'>;

/**
 * The npm packages the provenance names the artifact as: the purls of the subjects whose
 * digest is the artifact's. A provenance may list several subjects (a generic builder lets the
 * signer name each); only the one that is these bytes says which package they are, as in
 * slsa-verifier's npm.go, which takes the package name from the matching subject.
 */
function packagesNamedFor(provenance: Provenance, artifact: PackageArtifact) {
  const { sha256, sha512 } = artifact.digests;
  return provenance.subjects
    .filter(
      (s) =>
        s.digest.sha256?.toLowerCase() === sha256 ||
        (sha512 !== undefined && s.digest.sha512?.toLowerCase() === sha512),
    )
    .map((s) => parseNpmPurl(s.name))
    .filter((p) => p !== undefined);
}

/**
 * Why an npm candidate is not the package the rule and the provenance name, or undefined
 * when it is: the rule must name the package, and the provenance subject that is the
 * tarball must name it at this version.
 */
function candidateMismatch(
  rule: PolicyRule,
  provenance: Provenance | undefined,
  artifact: PackageArtifact,
  candidate: { name: string; version: string },
): string | undefined {
  const id = `${candidate.name}@${candidate.version}`;
  const want = rule.package;
  if (want?.name === undefined)
    return `rule ${rule.name ?? '(unnamed)'} names no package: the npm package ${id} is not one it publishes`;
  if (candidate.name !== want.name)
    return `the tarball's package.json names ${JSON.stringify(candidate.name)}, the rule expects ${JSON.stringify(want.name)}`;
  if (want.version !== undefined && candidate.version !== want.version)
    return `the tarball's package.json is version ${JSON.stringify(candidate.version)}, the rule expects ${JSON.stringify(want.version)}`;
  if (provenance === undefined) return undefined; // a rule without provenance: the publish attestation decides
  const named = packagesNamedFor(provenance, artifact);
  if (!named.some((p) => p.name === candidate.name && p.version === candidate.version))
    return `the provenance names the tarball ${named.map((p) => `${p.name}@${p.version}`).join(', ') || 'as no npm package'}, not the tarball's ${id}`;
  return undefined;
}

/** The package check, over the publish attestations, one provenance and the artifact (an npm candidate names its package). */
export function checkPackage(
  rule: PolicyRule,
  attestations: EvaluatedAttestation[],
  provenance: Provenance | undefined,
  artifact: PackageArtifact,
): CheckResult {
  const { npmPackage } = artifact;
  if (npmPackage !== undefined) {
    const denied = candidateMismatch(rule, provenance, artifact, npmPackage);
    if (denied !== undefined) return fail('package', 'PACKAGE_MISMATCH', denied, []);
  }
  // An npm candidate is held to its own name and version; a rule's version, when set, agreed above.
  const want = npmPackage ?? rule.package;
  if (want === undefined) return skipped('package', 'no package expectation');
  const published = attestations.filter((a) => a.predicateType === NPM_PUBLISH_V0_1);
  if (published.length === 0)
    return fail('package', 'PACKAGE_MISMATCH', 'no npm publish attestation among the attestations', []);
  const problems: string[] = [];
  for (const att of published) {
    const evidence = [att.digest];
    if (!signedByNpmRegistry(att)) {
      problems.push(
        `${att.origin}: publish attestation not signed by an npm registry key (${att.signer.trustedBy})`,
      );
      continue;
    }
    let statement;
    try {
      statement = statementOf(att);
    } catch (err) {
      problems.push(`${att.origin}: ${(err as Error).message}`);
      continue;
    }
    const predicate = NpmPublishV01Schema.safeParse(statement.predicate);
    if (!predicate.success) {
      problems.push(`${att.origin}: predicate is not an npm publish attestation`);
      continue;
    }
    const subject = statement.subject[0];
    const purl = parseNpmPurl(subject?.name);
    const { name, version } = predicate.data;
    if (purl === undefined || purl.name !== name || purl.version !== version) {
      problems.push(
        `${att.origin}: subject ${JSON.stringify(subject?.name)} does not name ${name}@${version}`,
      );
      continue;
    }
    if (want.name !== undefined && name !== want.name) {
      problems.push(`${att.origin}: package ${JSON.stringify(name)} is not ${JSON.stringify(want.name)}`);
      continue;
    }
    if (want.version !== undefined && version !== want.version) {
      problems.push(
        `${att.origin}: version ${JSON.stringify(version)} is not ${JSON.stringify(want.version)}`,
      );
      continue;
    }
    if (provenance !== undefined) {
      // The subject that is the artifact decides when it names a package; else any subject does.
      const forArtifact = packagesNamedFor(provenance, artifact);
      const named =
        forArtifact.length > 0
          ? forArtifact
          : provenance.subjects.map((s) => parseNpmPurl(s.name)).filter((p) => p !== undefined);
      if (named.length > 0 && !named.some((p) => p.name === name && p.version === version)) {
        problems.push(`${att.origin}: the provenance subject names another package than ${name}@${version}`);
        continue;
      }
    }
    return pass('package', `${name}@${version}`, evidence);
  }
  return fail(
    'package',
    'PACKAGE_MISMATCH',
    problems.join(' | '),
    published.map((a) => a.digest),
  );
}

/**
 * The package guard for an npm package the gate publishes: the tarball's package.json, the
 * rule's expectation, the publish attestation and the provenance must name one package
 * (docs/security-model.md#npm-packages). Real material: the corpus `sigstore` 2.3.1 tarball
 * and its provenance and npm publish attestation. Attacker material is made here, each case
 * saying how.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPackageManifest, tarballDigests } from '../../../src/core/formats/npm/package-tarball.ts';
import { evaluate, type Evaluation } from '../../../src/core/policy/evaluate.ts';
import { PolicyRuleSchema, type PolicyRuleInput } from '../../../src/core/policy/policy-rule.ts';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import type { ArtifactRef, VerifiedAttestation } from '../../../src/core/model.ts';
import {
  caseArtifact,
  caseAttestations,
  corpusCase,
  withStatement,
} from '../provenance/corpus-attestations.ts';

const CASE = 'slsa-verifier/npm-sigstore-2.3.1-valid';
const TARBALL = readFileSync(
  join(import.meta.dirname, '../../fixtures/corpus/slsa-verifier/npm-sigstore-2.3.1-valid/package.tgz'),
);
const NOW = new Date('2026-01-01T00:00:00Z');
const PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

function evaluateNpm(
  rule: PolicyRuleInput,
  npmPackage: ArtifactRef['npmPackage'],
  edit?: (attestations: VerifiedAttestation[]) => VerifiedAttestation[],
): Evaluation {
  const c = corpusCase(CASE);
  const real = caseAttestations(c);
  return evaluate({
    artifact: { ...caseArtifact(c, real), ...(npmPackage ? { npmPackage } : {}) },
    attestations: edit ? edit(real) : real,
    rule: PolicyRuleSchema.parse(rule),
    trustMap: defaultTrustMap(),
    now: NOW,
  });
}

const packageCheck = (ev: Evaluation) => {
  const found = ev.checks.find((c) => c.id === 'package');
  assert.ok(found, 'a package check');
  return found;
};

test('the real tarball names sigstore 2.3.1, the package its attestations name, and its digests are the corpus digest', () => {
  assert.deepEqual(readPackageManifest(TARBALL), { name: 'sigstore', version: '2.3.1' });
  assert.equal(tarballDigests(TARBALL).sha256, corpusCase(CASE).artifact_digest);
});

test('the real tarball with its real attestations passes under a rule that names the package', () => {
  const ev = evaluateNpm({ package: { name: 'sigstore' } }, readPackageManifest(TARBALL));
  assert.equal(packageCheck(ev).result, 'PASS', packageCheck(ev).reason);
  assert.equal(ev.outcome, 'PASSED');
});

test('an npm package under a rule that names no package is denied: a missing expectation is not "any"', () => {
  const ev = evaluateNpm({}, readPackageManifest(TARBALL));
  assert.equal(packageCheck(ev).code, 'PACKAGE_MISMATCH');
  assert.equal(ev.outcome, 'FAILED');
});

test('a tarball whose package.json names another version than the provenance is denied', () => {
  // Attacker material: the manifest a tarball rebuilt with `"version": "2.3.2"` would show,
  // presented with the real 2.3.1 attestations under a rule that names only the package.
  const ev = evaluateNpm({ package: { name: 'sigstore' } }, { name: 'sigstore', version: '2.3.2' });
  assert.equal(packageCheck(ev).code, 'PACKAGE_MISMATCH');
  assert.match(packageCheck(ev).reason, /2\.3\.2/);
});

test('a provenance that binds the tarball under another package name is denied', () => {
  // Attacker material: the real provenance statement with its subject renamed to
  // pkg:npm/left-pad@1.3.0 (what a builder that lets the signer choose subject names signs);
  // the digest still binds the real tarball.
  const ev = evaluateNpm({ package: { name: 'sigstore' } }, readPackageManifest(TARBALL), (atts) =>
    atts.map((a) =>
      a.predicateType === PROVENANCE_V1
        ? withStatement(a, (s) => {
            (s.subject as Array<{ name: string }>)[0]!.name = 'pkg:npm/left-pad@1.3.0';
          })
        : a,
    ),
  );
  assert.equal(packageCheck(ev).code, 'PACKAGE_MISMATCH');
  assert.equal(ev.outcome, 'FAILED');
});

test('the provenance must name the package in the subject that is the tarball, not in another subject', () => {
  // Attacker material: the real provenance statement with the subject that binds the real
  // tarball renamed to pkg:npm/sigstore-debug@2.3.1, and a second subject added that names
  // pkg:npm/sigstore@2.3.1 with another tarball's digest (a builder that lets the signer choose
  // subject names signs both): the tarball is vouched for only as another package.
  const ev = evaluateNpm({ package: { name: 'sigstore' } }, readPackageManifest(TARBALL), (atts) =>
    atts.map((a) =>
      a.predicateType === PROVENANCE_V1
        ? withStatement(a, (s) => {
            const subjects = s.subject as Array<{ name: string; digest: Record<string, string> }>;
            subjects[0]!.name = 'pkg:npm/sigstore-debug@2.3.1';
            subjects.push({ name: 'pkg:npm/sigstore@2.3.1', digest: { sha512: 'e'.repeat(128) } });
          })
        : a,
    ),
  );
  assert.equal(packageCheck(ev).code, 'PACKAGE_MISMATCH', packageCheck(ev).reason);
  assert.match(packageCheck(ev).reason, /sigstore-debug@2\.3\.1/);
  assert.equal(ev.outcome, 'FAILED');
});

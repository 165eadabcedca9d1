/**
 * Issue 11 class 5: a missing expectation never means "allow all". The attacker here owns a
 * real Sigstore identity and a repository, so any flag set that leaves the source or the
 * signer unnamed accepts their bundle. Real material stands in for theirs: the corpus
 * bundle of slsa-framework/example-package (gha-generic-v2.1.0-dispatch-valid), which is a
 * valid SLSA v0.2 provenance of *another* project — exactly what such flags would accept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate } from '../../../src/core/policy/evaluate.ts';
import { defaultTrustMap } from '../../../src/core/policy/trust-map.ts';
import { ruleFromVerifierFlags, type VerifierFlags } from '../../../src/core/policy/verifier-flags.ts';
import { code } from '../../helpers/error-code.ts';
import { caseArtifact, caseAttestations, corpusCase } from '../provenance/corpus-attestations.ts';

const BUILDER =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';

test('class 5: flag sets that name no source or no signer are refused (INPUT_INVALID)', () => {
  const refused: VerifierFlags[] = [
    {},
    { certificateOidcIssuer: 'https://token.actions.githubusercontent.com' },
    { builderId: BUILDER },
    { builderId: BUILDER, sourceBranch: 'main' },
    { packageName: 'p', packageVersion: '1.0.0', builderId: BUILDER },
    { mode: 'github-attestation', builderId: BUILDER },
    { sourceUri: 'github.com/o/r', sourceTag: 'v1.0.0', sourceVersionedTag: 'v1' },
    { mode: 'signature', sourceUri: 'github.com/o/r' },
    { mode: 'signature', builderId: BUILDER },
    { mode: 'vsa', verifierId: 'https://verifier.example' },
  ];
  for (const flags of refused)
    assert.equal(
      code(() => ruleFromVerifierFlags(flags)),
      'INPUT_INVALID',
      JSON.stringify(flags),
    );
  // What is explicit stays possible: signature mode when asked for, and a named source.
  assert.doesNotThrow(() => ruleFromVerifierFlags({ mode: 'signature' }));
  assert.doesNotThrow(() => ruleFromVerifierFlags({ sourceUri: 'github.com/o/r', builderId: BUILDER }));
});

test('class 5: --owner/--repo alone ask for SLSA provenance v1 signed in that repository, not any predicate', () => {
  const c = corpusCase('slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
  const attestations = caseAttestations(c);
  const input = (flags: VerifierFlags) => ({
    artifact: caseArtifact(c, attestations),
    attestations,
    rule: ruleFromVerifierFlags(flags),
    trustMap: defaultTrustMap(),
    now: new Date(),
  });
  // Before: --owner/--repo only inferred signature mode, which needs no provenance at all.
  const repoOnly = evaluate(input({ owner: 'slsa-framework', repo: 'slsa-framework/example-package' }));
  assert.equal(repoOnly.outcome, 'FAILED');
  const provenance = repoOnly.checks.find((c) => c.id === 'provenance');
  assert.deepEqual([provenance?.result, provenance?.code], ['FAIL', 'NO_PROVENANCE'], provenance?.reason);
  // The same repository with the predicate type named explicitly is evaluated as provenance.
  const explicit = evaluate(
    input({
      owner: 'slsa-framework',
      repo: 'slsa-framework/example-package',
      predicateType: 'https://slsa.dev/provenance/v0.2',
    }),
  );
  assert.ok(explicit.provenance !== undefined, JSON.stringify(explicit.checks));
});

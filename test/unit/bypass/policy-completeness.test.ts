/**
 * Issue 11 class 6: a rule whose only identity pin is the workflow that signed (signerRepo or
 * signerWorkflow) is incomplete, because an unrelated project's build satisfies it. Real
 * material: the corpus provenance of slsa-framework/example-package
 * (gha-generic-v2.1.0-dispatch-valid), signed by slsa-github-generator's reusable workflow —
 * the same signer an attacker's own repository gets by calling that workflow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkIdentity } from '../../../src/core/policy/guards/identity.ts';
import { parsePolicy } from '../../../src/core/policy/policy-file.ts';
import { provenanceOf } from '../provenance/corpus-attestations.ts';
import { code } from '../../helpers/error-code.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const policy = (identity: Record<string, string>) =>
  JSON.stringify({
    version: 1,
    rules: [
      {
        artifacts: ['registry.example/team/app'],
        requireProvenance: false,
        identities: [{ issuer: ISSUER, ...identity }],
      },
    ],
  });

test('class 6: signerRepo or signerWorkflow alone is POLICY_INCOMPLETE; with the repository it is complete', () => {
  // Another project's real build satisfies the signer pin: that is why it is not enough.
  const unrelated = provenanceOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
  const { policy: accepted } = parsePolicy(
    policy({ signerRepo: 'slsa-framework/slsa-github-generator', repo: 'slsa-framework/example-package' }),
    'complete.json',
  );
  assert.equal(checkIdentity(accepted.rules[0]!, unrelated).result, 'PASS');
  assert.equal(
    code(() => parsePolicy(policy({ signerRepo: 'slsa-framework/slsa-github-generator' }), 'p.json')),
    'POLICY_INCOMPLETE',
  );
  assert.equal(
    code(() =>
      parsePolicy(
        policy({
          signerWorkflow:
            'slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml',
        }),
        'p.json',
      ),
    ),
    'POLICY_INCOMPLETE',
  );
});

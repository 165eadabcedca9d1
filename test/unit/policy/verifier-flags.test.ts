/** slsa-verifier-style flags to a rule: modes, "not given means not checked", bad flags. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import {
  ruleFromVerifierFlags,
  verifierMode,
  type VerifierFlags,
} from '../../../src/core/policy/verifier-flags.ts';

function code(flags: VerifierFlags): string | undefined {
  try {
    ruleFromVerifierFlags(flags);
  } catch (err) {
    if (isGateError(err)) return err.code;
    throw err;
  }
  return undefined;
}

test('mode is inferred from the flags given', () => {
  assert.equal(verifierMode({ verifierId: 'v' }), 'vsa');
  assert.equal(verifierMode({ packageName: 'p', builderId: 'b' }), 'npm-package');
  assert.equal(verifierMode({ sourceUri: 'github.com/o/r' }), 'artifact');
  assert.equal(verifierMode({ certificateIdentity: 'a@b' }), 'signature');
});

test('artifact mode: expectations not given are not checked, provenance required, builder id optional', () => {
  const rule = ruleFromVerifierFlags({ sourceUri: 'github.com/o/r' });
  assert.equal(rule.requireProvenance, true);
  assert.equal(rule.requireBuilderId, false);
  assert.deepEqual(rule.builders, []);
  assert.deepEqual(rule.source?.repos, ['github.com/o/r']);
  assert.equal(rule.source?.branches, undefined);
  assert.equal(rule.package, undefined);
  assert.equal(rule.entrypoint.allowUnknownParameters, false);
});

test('npm and GitHub attestation modes require a builder id, as slsa-verifier does', () => {
  assert.equal(
    ruleFromVerifierFlags({ packageName: 'p', sourceUri: 'github.com/o/r' }).requireBuilderId,
    true,
  );
  assert.equal(
    ruleFromVerifierFlags({ mode: 'github-attestation', sourceUri: 'github.com/o/r' }).requireBuilderId,
    true,
  );
});

test('identity flags: gh owner/repo default to the GitHub Actions issuer; san regex must be anchored', () => {
  const rule = ruleFromVerifierFlags({ owner: 'o', repo: 'o/r', sanRegex: '^https://github.com/o/' });
  assert.deepEqual(rule.identities, [
    {
      issuer: 'https://token.actions.githubusercontent.com',
      owner: 'o',
      repo: 'o/r',
      subjectPattern: '^https://github.com/o/.*$',
    },
  ]);
  assert.equal(code({ sanRegex: 'github' }), 'INPUT_INVALID');
  assert.equal(code({ sanRegex: '^(' }), 'INPUT_INVALID');
});

test('bad flags are INPUT_INVALID: builder id with two @, invalid versioned tag, unknown flag, unknown mode', () => {
  assert.equal(code({ builderId: 'https://b@v1@v2' }), 'INPUT_INVALID');
  assert.equal(code({ builderId: 'https://b@' }), 'INPUT_INVALID');
  assert.equal(code({ sourceVersionedTag: '13' }), 'INPUT_INVALID');
  assert.equal(code({ bogus: 1 } as unknown as VerifierFlags), 'INPUT_INVALID');
  assert.equal(code({ mode: 'other' } as unknown as VerifierFlags), 'INPUT_INVALID');
});

test('gh-attestation mode rejects v0.1 bundles and needs a pinned identity', () => {
  assert.equal(ruleFromVerifierFlags({ mode: 'gh-attestation', owner: 'o' }).bundleV01, 'reject');
  assert.equal(ruleFromVerifierFlags({ mode: 'gh-attestation', owner: 'o' }).requireTrustedBuilder, false);
  assert.equal(code({ mode: 'gh-attestation' }), 'INPUT_INVALID');
});

test('vsa mode carries verifier, resource and levels; no provenance required', () => {
  const rule = ruleFromVerifierFlags({
    verifierId: 'v',
    resourceUri: 'r',
    verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
  });
  assert.equal(rule.requireProvenance, false);
  assert.deepEqual(rule.vsa, { verifierId: 'v', resourceUri: 'r', verifiedLevels: ['SLSA_BUILD_LEVEL_2'] });
});

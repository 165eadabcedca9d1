/**
 * Guard `requester` and the stable-id comparison (docs/security-model.md#what-a-requester-may-publish,
 * docs/security-model.md#who-is-the-same-party). Attacker variants change one thing each.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { samePrincipal, type Identity } from '../../../src/core/identity.ts';
import { checkRequester, mayPublishTo } from '../../../src/core/policy/guards/requester.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';

const artifact = { digests: { sha256: 'aa'.repeat(32) } };

function provenance(uri?: string): Provenance {
  return {
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    ...(uri ? { source: { uri, ref: 'refs/tags/v1.0.0', commit: 'c' } } : {}),
    resolvedDependencies: [],
    subjects: [],
  };
}

const release = 'registry.example/release/app';
const check = (mayPublish: Identity['mayPublish'], uri: string | undefined, repository = release) =>
  checkRequester(
    { id: 'ci', ...(mayPublish ? { mayPublish } : {}) },
    { repository, artifact, provenance: provenance(uri) },
  );

test('a grant covers builds of its source repositories, by the verified provenance source', () => {
  const own = [{ sources: ['github.com/acme/app'] }];
  assert.equal(check(own, 'git+https://github.com/acme/app').result, 'PASS');
  // Attacker material: another repository's build (provenance source acme/other), a longer
  // name sharing the prefix, and a build whose provenance names no source at all.
  for (const uri of [
    'git+https://github.com/acme/other',
    'git+https://github.com/acme/app-evil',
    undefined,
  ]) {
    const c = check(own, uri);
    assert.equal(c.result, 'FAIL', uri);
    assert.equal(c.code, 'REQUESTER_NOT_ALLOWED');
  }
  // The policy's owner wildcard and an anchored pattern.
  assert.equal(
    check([{ sources: ['github.com/acme/*'] }], 'git+https://github.com/acme/other').result,
    'PASS',
  );
  const anchored = [{ sources: ['^git\\+https://github\\.com/acme/(app|lib)$'] }];
  assert.equal(check(anchored, 'git+https://github.com/acme/lib').result, 'PASS');
  assert.equal(check(anchored, 'git+https://github.com/acme/lib2').result, 'FAIL');
});

test('no grant, or an empty list, allows nothing', () => {
  assert.equal(check(undefined, 'git+https://github.com/acme/app').code, 'REQUESTER_NOT_ALLOWED');
  assert.equal(check([], 'git+https://github.com/acme/app').code, 'REQUESTER_NOT_ALLOWED');
  assert.equal(mayPublishTo(undefined, release), false);
});

test('destinations narrow a grant, and one grant must cover both the source and the destination', () => {
  const grants = [
    { sources: ['github.com/acme/app'], destinations: [release] },
    { sources: ['github.com/acme/lib'], destinations: ['^registry\\.example/release/lib-[a-z]+$'] },
  ];
  assert.equal(check(grants, 'git+https://github.com/acme/app').result, 'PASS');
  assert.equal(
    check(grants, 'git+https://github.com/acme/lib', 'registry.example/release/lib-core').result,
    'PASS',
  );
  // Attacker material: acme/lib's build sent where only acme/app may go, and acme/app's build
  // sent where only acme/lib may go: each grant covers one half.
  assert.equal(check(grants, 'git+https://github.com/acme/lib').code, 'REQUESTER_NOT_ALLOWED');
  assert.equal(
    check(grants, 'git+https://github.com/acme/app', 'registry.example/release/lib-core').result,
    'FAIL',
  );
  assert.equal(mayPublishTo(grants, 'registry.example/release/lib-core'), true);
  assert.equal(mayPublishTo(grants, 'registry.example/release/other'), false);
  // A grant without destinations leaves them to the policy's rule.
  assert.equal(mayPublishTo([{ sources: ['github.com/acme/app'] }], 'registry.example/release/other'), true);
});

test('GitHub Actions identities of one repository or one owner are the same party, whatever the sub', () => {
  const issuer = 'https://token.actions.githubusercontent.com';
  const gh = (sub: string, repositoryId: string, repositoryOwnerId: string): Identity => ({
    kind: 'oidc',
    id: `${issuer}#${sub}`,
    name: sub,
    issuer,
    repositoryId,
    repositoryOwnerId,
  });
  const requester = gh('repo:o/r:ref:refs/heads/main', '42', '7');
  // Attacker material: the same repository from another branch, after a rename, after a
  // transfer to another owner, and a sibling repository of the same owner.
  assert.equal(samePrincipal(requester, gh('repo:o/r:ref:refs/heads/other', '42', '7')), true);
  assert.equal(samePrincipal(requester, gh('repo:o/renamed:ref:refs/heads/main', '42', '7')), true);
  assert.equal(samePrincipal(requester, gh('repo:new-owner/r:ref:refs/heads/main', '42', '9')), true);
  assert.equal(samePrincipal(requester, gh('repo:o/sibling:ref:refs/heads/main', '43', '7')), true);
  // Another owner's repository, and the same ids from another issuer, are other parties.
  assert.equal(samePrincipal(requester, gh('repo:p/q:ref:refs/heads/main', '43', '8')), false);
  const ghes = {
    ...gh('repo:o/r:ref:refs/heads/main', '42', '7'),
    issuer: 'https://ghes.example/_services/token',
  };
  assert.equal(
    samePrincipal(requester, { ...ghes, id: `${ghes.issuer}#repo:o/r:ref:refs/heads/main` }),
    false,
  );
  // Tokens and people compare by id.
  const alice: Identity = { kind: 'token', id: 'token:alice', name: 'alice' };
  assert.equal(samePrincipal(alice, { ...alice, name: 'someone else' }), true);
  assert.equal(samePrincipal(alice, { kind: 'token', id: 'token:bob', name: 'alice' }), false);
  assert.equal(samePrincipal(alice, requester), false);
});

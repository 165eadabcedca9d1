/**
 * OIDC ID token verification against a real issuer on loopback (discovery + JWKS over HTTP,
 * RS256 JWTs signed with node:crypto). Each refused token is attacker material made as its
 * comment says; each test also shows the honest token of the same shape accepted, so a
 * verifier that refused everything would fail here too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashToken, TokenVerifier } from '../../../src/api/api-tokens.ts';
import { isGateError } from '../../../src/core/errors.ts';
import { OidcIssuerUnavailable, OidcRejection, OidcVerifier } from '../../../src/api/oidc.ts';
import {
  hmacJwt,
  rsaKey,
  signJwt,
  startIssuer,
  unsignedJwt,
  type LoopbackIssuer,
} from '../../helpers/oidc-issuer.ts';

const AUDIENCE = 'slsa-gate';
let issuer: LoopbackIssuer;
let other: LoopbackIssuer;

before(async () => {
  issuer = await startIssuer('key-1');
  other = await startIssuer('key-1');
});
after(async () => {
  await issuer?.close();
  await other?.close();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** GitHub Actions-shaped claims (token.actions.githubusercontent.com documents these names). */
function ciClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return {
    iss: issuer.issuer,
    aud: AUDIENCE,
    sub: 'repo:acme/app:ref:refs/tags/v1.2.3',
    repository: 'acme/app',
    repository_id: '1001',
    repository_owner_id: '501',
    workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1.2.3',
    ref: 'refs/tags/v1.2.3',
    iat: now,
    nbf: now,
    exp: now + 300,
    ...overrides,
  };
}

function verifier(skew = 60): OidcVerifier {
  return new OidcVerifier([
    { issuer: issuer.issuer, audience: AUDIENCE, claims: 'github-actions', clockSkewSeconds: skew },
  ]);
}

async function rejected(v: OidcVerifier, token: string, reason: RegExp): Promise<void> {
  await assert.rejects(v.verify(token), (err: unknown) => {
    assert.ok(err instanceof OidcRejection, `expected a rejection, got ${String(err)}`);
    assert.match(err.message, reason);
    return true;
  });
}

test('a token signed by the issuer maps to the GitHub Actions identity it names', async () => {
  const identity = await verifier().verify(issuer.sign(ciClaims()));
  assert.equal(identity.issuer, issuer.issuer);
  assert.equal(identity.repository, 'acme/app');
  assert.equal(identity.ref, 'refs/tags/v1.2.3');
  assert.equal(identity.id, `${issuer.issuer}#repo:acme/app:ref:refs/tags/v1.2.3`);
});

test('expired and not-yet-valid tokens are refused beyond the clock skew, accepted within it', async () => {
  const v = verifier(30);
  const now = nowSeconds();
  // Attacker material: an honestly signed token replayed after its exp (+ more than the skew).
  await rejected(v, issuer.sign(ciClaims({ exp: now - 31, iat: now - 400, nbf: now - 400 })), /expired/);
  await rejected(v, issuer.sign(ciClaims({ nbf: now + 120 })), /not yet valid/);
  // Within the 30 s skew both are fine: the bound is the skew, not zero.
  await v.verify(issuer.sign(ciClaims({ exp: now - 10, iat: now - 400, nbf: now - 400 })));
  await v.verify(issuer.sign(ciClaims({ nbf: now + 10 })));
});

test('wrong aud and wrong iss are refused', async () => {
  const v = verifier();
  // Attacker material: a real token of this issuer minted for another relying party.
  await rejected(v, issuer.sign(ciClaims({ aud: 'sigstore' })), /audience/);
  await v.verify(issuer.sign(ciClaims({ aud: ['sigstore', AUDIENCE] })));
  // Attacker material: a token from an issuer the operator did not configure (its own key, its own iss).
  await rejected(v, other.sign(ciClaims({ iss: other.issuer })), /issuer not trusted/);
  // Attacker material: the issuer's own token with a look-alike iss (trailing slash): compared exactly.
  await rejected(v, issuer.sign(ciClaims({ iss: `${issuer.issuer}/` })), /issuer not trusted/);
});

test('an unknown kid is refused; after rotation the new kid is fetched and accepted', async () => {
  const v = verifier();
  await v.verify(issuer.sign(ciClaims()));
  // Attacker material: a fresh RSA key with a kid the issuer never served.
  await rejected(v, signJwt(ciClaims(), rsaKey('key-9')), /no key with this kid/);
  // The issuer rotates to key-2: the cached key set does not have it, a refetch does.
  const fetchesBefore = issuer.jwksFetches;
  const previous = issuer.keys;
  issuer.keys = [rsaKey('key-2')];
  try {
    const v2 = verifier();
    await v2.verify(signJwt(ciClaims(), previous[0]!)).then(
      () => assert.fail('a retired key must not verify once the issuer no longer serves it'),
      (err: unknown) => assert.ok(err instanceof OidcRejection),
    );
    await v2.verify(issuer.sign(ciClaims()));
    assert.ok(issuer.jwksFetches > fetchesBefore);
  } finally {
    issuer.keys = previous;
  }
});

test('alg none, HS256 keyed with the public key, and another key with a matching kid are refused', async () => {
  const v = verifier();
  const kid = issuer.keys[0]!.kid;
  // Attacker material: the honest claims with header alg "none" and an empty signature (RFC 7519 §6).
  await rejected(v, unsignedJwt(ciClaims(), kid), /algorithm none/);
  // Attacker material: HS256 with the issuer's public key (PEM and JWK modulus bytes) as the HMAC secret,
  // the key-confusion attack on verifiers that let the header pick the algorithm (RFC 8725 §2.1).
  const pem = issuer.keys[0]!.publicKey.export({ format: 'pem', type: 'spki' });
  await rejected(v, hmacJwt(ciClaims(), kid, pem), /algorithm HS256/);
  const n = Buffer.from(String(issuer.keys[0]!.publicKey.export({ format: 'jwk' }).n), 'base64url');
  await rejected(v, hmacJwt(ciClaims(), kid, n), /algorithm HS256/);
  // Attacker material: a key the attacker generated, with the issuer's kid in the header.
  await rejected(v, signJwt(ciClaims(), rsaKey(kid)), /signature/);
  // Attacker material: an honest token with its claims swapped for the attacker's repository.
  const [h, , s] = issuer.sign(ciClaims()).split('.');
  const forged = Buffer.from(JSON.stringify(ciClaims({ repository: 'mallory/app' }))).toString('base64url');
  await rejected(v, `${h}.${forged}.${s}`, /signature/);
});

test('an unreachable issuer is an outage, not a verdict on the token', async () => {
  const down = await startIssuer('k');
  const token = down.sign({ ...ciClaims(), iss: down.issuer });
  await down.close();
  const v = new OidcVerifier([{ issuer: down.issuer, audience: AUDIENCE, claims: 'github-actions' }]);
  await assert.rejects(v.verify(token), OidcIssuerUnavailable);
});

test('scopes come only from grants on exact verified claims; an unverified email names no one', async () => {
  const tokens = new TokenVerifier({
    oidc: [
      { issuer: issuer.issuer, audience: AUDIENCE, claims: 'github-actions' },
      { issuer: other.issuer, audience: AUDIENCE, claims: 'generic' },
    ],
    grants: [
      { issuer: issuer.issuer, claims: { repository: 'acme/app' }, scopes: ['publish'] },
      { issuer: other.issuer, claims: { email: 'alice@example.com' }, scopes: ['approve'] },
    ],
  });
  const ci = await tokens.authenticateBearer(issuer.sign(ciClaims()));
  assert.deepEqual(ci?.scopes, ['publish']);
  assert.equal(ci?.identity.kind, 'oidc');
  // Attacker material: a real token for the attacker's own repository on the same issuer.
  const mallory = await tokens.authenticateBearer(issuer.sign(ciClaims({ repository: 'mallory/app' })));
  assert.deepEqual(mallory?.scopes, []);

  const person = (email: string, verified: boolean) =>
    other.sign({ ...ciClaims(), iss: other.issuer, sub: `user-${email}`, email, email_verified: verified });
  assert.deepEqual((await tokens.authenticateBearer(person('alice@example.com', true)))?.scopes, ['approve']);
  // Attacker material: an account at the same provider that typed alice's address but never verified it.
  const unverified = await tokens.authenticateBearer(person('alice@example.com', false));
  assert.deepEqual(unverified?.scopes, []);
  assert.notEqual(unverified?.name, 'alice@example.com');
  // Hashed tokens and garbage still go through the uniform path.
  assert.equal(await tokens.authenticateBearer('not-a-token'), undefined);
  assert.equal(await tokens.authenticateBearer(undefined), undefined);
});

test('a GitHub Actions identity carries repository_id and repository_owner_id; a token without them is refused', async () => {
  const v = verifier();
  const identity = await v.verify(issuer.sign(ciClaims()));
  assert.equal(identity.repositoryId, '1001');
  assert.equal(identity.repositoryOwnerId, '501');
  // Attacker material: tokens signed by the trusted issuer with the stable ids left out or
  // made non-numeric, so that no comparison by id could hold.
  for (const claims of [
    { repository_id: undefined },
    { repository_owner_id: undefined },
    { repository_id: 'acme/app' },
    { repository_owner_id: 12 },
  ])
    await rejected(v, issuer.sign(ciClaims(claims)), /repository_id/);
});

test('publish grants name what a requester may publish: sources (a GitHub token defaults to its own repository) and destinations', async () => {
  const tokens = new TokenVerifier({
    tokens: [
      {
        name: 'release-bot',
        sha256: hashToken('r'.repeat(40)),
        scopes: ['publish'],
        sources: ['github.com/acme/*'],
        destinations: ['registry.example/release/app'],
      },
    ],
    oidc: [
      { issuer: issuer.issuer, audience: AUDIENCE, claims: 'github-actions' },
      { issuer: other.issuer, audience: AUDIENCE, claims: 'generic' },
    ],
    grants: [
      { issuer: issuer.issuer, claims: { repository: 'acme/app' }, scopes: ['publish'] },
      {
        issuer: issuer.issuer,
        claims: { repository_owner: 'acme' },
        scopes: ['publish'],
        sources: ['github.com/acme/lib'],
        destinations: ['^registry\\.example/release/lib-[a-z]+$'],
      },
    ],
  });
  const ci = await tokens.authenticateBearer(issuer.sign(ciClaims({ repository_owner: 'acme' })));
  assert.deepEqual(ci?.mayPublish, [
    { sources: ['github.com/acme/app'] },
    { sources: ['github.com/acme/lib'], destinations: ['^registry\\.example/release/lib-[a-z]+$'] },
  ]);
  assert.deepEqual(tokens.authenticate('r'.repeat(40))?.mayPublish, [
    { sources: ['github.com/acme/*'], destinations: ['registry.example/release/app'] },
  ]);

  // A missing expectation is a configuration error, never "any source".
  const invalid = [
    { tokens: [{ name: 'bot', sha256: hashToken('b'.repeat(40)), scopes: ['publish'] }] },
    {
      oidc: [{ issuer: other.issuer, audience: AUDIENCE, claims: 'generic' }],
      grants: [{ issuer: other.issuer, claims: { email: 'a@example.com' }, scopes: ['publish'] }],
    },
    {
      tokens: [
        {
          name: 'auditor',
          sha256: hashToken('a'.repeat(40)),
          scopes: ['audit:read'],
          sources: ['github.com/acme/app'],
        },
      ],
    },
    {
      tokens: [
        {
          name: 'bot',
          sha256: hashToken('b'.repeat(40)),
          scopes: ['publish'],
          sources: ['^github.com/acme/.*'],
        },
      ],
    },
  ] as const;
  for (const config of invalid)
    assert.throws(
      () => new TokenVerifier(config as never),
      (err: unknown) => isGateError(err) && err.code === 'CONFIG_INVALID',
      JSON.stringify(config),
    );
});

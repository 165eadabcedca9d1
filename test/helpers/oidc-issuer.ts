/**
 * A real OIDC issuer on loopback for the authentication tests: serves the discovery document
 * and a JWKS over HTTP on 127.0.0.1, and signs real JWTs (RS256 with node:crypto) with its
 * current key. `rotate()` replaces the key set the way an issuer rotates keys.
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh RSA key pair with this `kid`. */
export function rsaKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact RS256 JWS of `claims`, signed with `key` (header `kid` = key.kid unless overridden). */
export function signJwt(
  claims: Record<string, unknown>,
  key: SigningKey,
  header: Record<string, unknown> = {},
): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header })}.${b64(claims)}`;
  const signature = createSign('sha256').update(input).sign(key.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

/** An unsigned token (`alg: none`, empty signature: RFC 7519 §6). */
export function unsignedJwt(claims: Record<string, unknown>, kid: string): string {
  return `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`;
}

/** HS256 with `secret` as the HMAC key: the key-confusion attack when the secret is the issuer's public key. */
export function hmacJwt(claims: Record<string, unknown>, kid: string, secret: Buffer | string): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export interface LoopbackIssuer {
  /** The issuer URL (`iss`), e.g. `http://127.0.0.1:PORT`. */
  issuer: string;
  /** The key set served now; replace it to rotate. */
  keys: SigningKey[];
  /** How many times the JWKS was fetched. */
  jwksFetches: number;
  /** Signs with the first served key. */
  sign(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

/** Starts an issuer on 127.0.0.1 (any free port) with one RSA key `kid`. */
export async function startIssuer(kid = 'key-1'): Promise<LoopbackIssuer> {
  const server: Server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration')
      return send({ issuer: state.issuer, jwks_uri: `${state.issuer}/jwks` });
    if (req.url === '/jwks') {
      state.jwksFetches += 1;
      return send({
        keys: state.keys.map((k) => ({
          ...k.publicKey.export({ format: 'jwk' }),
          kid: k.kid,
          alg: 'RS256',
          use: 'sig',
        })),
      });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const state: LoopbackIssuer = {
    issuer: `http://127.0.0.1:${address.port}`,
    keys: [rsaKey(kid)],
    jwksFetches: 0,
    sign(claims) {
      return signJwt(claims, state.keys[0]!);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

/** A GitHub Actions repository as its ID tokens name it: `owner/name` and the numeric ids of the repository and its owner. */
export interface GithubRepository {
  repository: string;
  repositoryId: string;
  ownerId: string;
}

/**
 * A GitHub Actions ID token for a workflow of `repo` running at `ref`, with the claims
 * token.actions.githubusercontent.com issues (`sub` = `repo:<owner/name>:ref:<ref>`, the
 * repository and its owner by name and by id), valid for five minutes; `extra` overrides any.
 */
export function githubActionsToken(
  issuer: LoopbackIssuer,
  audience: string,
  repo: GithubRepository & { ref: string },
  extra: Record<string, unknown> = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  return issuer.sign({
    iss: issuer.issuer,
    aud: audience,
    sub: `repo:${repo.repository}:ref:${repo.ref}`,
    repository: repo.repository,
    repository_id: repo.repositoryId,
    repository_owner: repo.repository.split('/')[0],
    repository_owner_id: repo.ownerId,
    ref: repo.ref,
    iat: now,
    exp: now + 300,
    ...extra,
  });
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { staticCredentials } from '../../../src/registry/credentials.ts';
import { localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { startFaultProxy, type FaultDecision, type FaultProxy } from './fault-proxy.ts';
import { isRetryableError } from '../../../src/core/errors.ts';

/**
 * The distribution token flow, exercised with a loopback token issuer and the
 * fault proxy acting as the registry's token check: tokens are opaque here
 * (the JWT form against the registry's own `token` auth mode is not tested here).
 */

before(ensureServices);

const USERS: Record<string, { password: string; actions: string[] }> = {
  ci: { password: 's3cret', actions: ['pull', 'push'] },
  reader: { password: 'r3ad', actions: ['pull'] },
};
const SERVICE = 'slsa-gate-test-registry';
let lifetimeS = 300;
const tokens = new Map<string, { grants: Set<string>; expiresAt: number }>();
const tokenRequests: string[] = [];

let issuer: ReturnType<typeof createServer>;
let realm: string;
let proxy: FaultProxy;

const REFRESH_TOKENS: Record<string, string> = { 'refresh-ci': 'ci' };

/** Grants each requested `repository:<name>:<actions>` scope, cut down to what the user may do. */
function grant(
  user: string | undefined,
  scopes: string[],
  service: string | null,
  res: ServerResponse,
): void {
  tokenRequests.push(scopes.join(' '));
  const account = USERS[user ?? ''];
  if (service !== SERVICE || account === undefined) {
    res.writeHead(401).end();
    return;
  }
  const grants = new Set<string>();
  for (const scope of scopes) {
    const [, name, actions] = scope.split(':');
    for (const action of actions?.split(',') ?? []) {
      if (account.actions.includes(action)) grants.add(`${name}:${action}`);
    }
  }
  const token = randomBytes(16).toString('hex');
  tokens.set(token, { grants, expiresAt: Date.now() + lifetimeS * 1000 });
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ token, access_token: token, expires_in: lifetimeS }));
}

/** token.md: GET with Basic credentials; oauth.md: POST of a refresh-token grant. */
function issue(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://issuer');
  if (req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const user =
        form.get('grant_type') === 'refresh_token'
          ? REFRESH_TOKENS[form.get('refresh_token') ?? '']
          : undefined;
      grant(user, (form.get('scope') ?? '').split(' ').filter(Boolean), form.get('service'), res);
    });
    return;
  }
  const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
    .toString()
    .split(':');
  const known = USERS[user ?? '']?.password === password ? user : undefined;
  grant(known, url.searchParams.getAll('scope'), url.searchParams.get('service'), res);
}

/** The registry side: every request needs a live token granting pull (GET/HEAD) or push (others) on its repository. */
function checkToken(req: IncomingMessage): FaultDecision {
  const name = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(req.url ?? '')?.[1];
  if (name === undefined) return undefined;
  const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
  const token = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  const challenge = (error?: string) => ({
    respond: {
      status: 401,
      headers: {
        'www-authenticate': `Bearer realm="${realm}",service="${SERVICE}",scope="repository:${name}:${action}"${
          error === undefined ? '' : `,error="${error}"`
        }`,
      },
    },
  });
  if (token === undefined) return challenge();
  if (token.expiresAt <= Date.now()) return challenge('invalid_token');
  if (!token.grants.has(`${name}:${action}`)) return challenge('insufficient_scope');
  return undefined;
}

before(async () => {
  issuer = createServer(issue);
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  realm = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/token`;
  proxy = await startFaultProxy(checkToken);
});
after(async () => {
  await proxy.close();
  issuer.closeAllConnections();
  await new Promise((resolve) => issuer.close(resolve));
});

const client = (user?: string, password?: string) =>
  localRegistryClient(
    {
      insecureHosts: [proxy.host, new URL(realm).host],
      ...(user === undefined
        ? {}
        : { credentials: staticCredentials({ [proxy.host]: { username: user, password: password ?? '' } }) }),
    },
    proxy.url,
  );

test('push and pull through Bearer tokens, one token per scope, reused while valid', async () => {
  const repo = `registry/${uniqueName('bearer')}`;
  tokenRequests.length = 0;
  const ci = client('ci', 's3cret');
  const pushed = await pushTestImage(ci, repo, { tag: 'v1' });
  assert.equal((await ci.resolve(repo, 'v1')).digest, pushed.digest);
  assert.ok(tokenRequests.includes(`repository:${repo}:pull,push`));
  assert.ok(tokenRequests.includes(`repository:${repo}:pull`));
  const before = tokenRequests.length;
  await ci.getManifest(repo, pushed.digest);
  assert.equal(tokenRequests.length, before, 'a cached token is reused');
});

test('wrong credentials are a non-retryable REGISTRY_AUTH from the token endpoint', async () => {
  const repo = `registry/${uniqueName('bearer-wrong')}`;
  await assert.rejects(
    client('ci', 'wrong').blobExists(repo, `sha256:${'0'.repeat(64)}`),
    (err: GateError) => {
      assert.equal(err.code, 'REGISTRY_AUTH');
      assert.equal(isRetryableError(err), false);
      return true;
    },
  );
  await assert.rejects(
    client().blobExists(repo, `sha256:${'0'.repeat(64)}`),
    (err: GateError) => err.code === 'REGISTRY_AUTH',
  );
});

test('a token without the push scope is reported as a missing scope', async () => {
  const repo = `registry/${uniqueName('bearer-scope')}`;
  await assert.rejects(
    client('reader', 'r3ad').pushBlob(repo, new TextEncoder().encode('x')),
    (err: GateError) => {
      assert.equal(err.code, 'REGISTRY_AUTH');
      assert.equal(err.detail?.reason, 'insufficient_scope');
      assert.equal(err.detail?.scope, `repository:${repo}:pull,push`);
      assert.equal(isRetryableError(err), false);
      return true;
    },
  );
});

test('an expired token is refreshed', async () => {
  const repo = `registry/${uniqueName('bearer-expiry')}`;
  const ci = client('ci', 's3cret');
  const pushed = await pushTestImage(ci, repo);
  lifetimeS = 1;
  try {
    const reader = client('reader', 'r3ad');
    await reader.getManifest(repo, pushed.digest);
    const count = tokenRequests.length;
    await sleep(1100);
    assert.equal((await reader.getManifest(repo, pushed.digest)).digest, pushed.digest);
    assert.equal(tokenRequests.length, count + 1, 'a fresh token was fetched');
  } finally {
    lifetimeS = 300;
  }
});

test('an identity token is exchanged through the OAuth2 refresh-token grant', async () => {
  const repo = `registry/${uniqueName('bearer-identity')}`;
  const ci = client('<token>', 'refresh-ci');
  const pushed = await pushTestImage(ci, repo, { tag: 'v1' });
  assert.equal((await ci.resolve(repo, 'v1')).digest, pushed.digest);
  await assert.rejects(
    client('<token>', 'revoked').blobExists(repo, pushed.blobDigests[0]!),
    (err: GateError) => err.code === 'REGISTRY_AUTH',
  );
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createPrivateKey,
  createHash,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { GateError } from '../../../src/core/errors.ts';
import { staticCredentials } from '../../../src/registry/credentials.ts';
import { localRegistryClient, pushTestImage } from '../../helpers/oci-images.ts';
import { ensureServices, uniqueName } from '../../helpers/services.ts';
import { startRegistry, type RegistryProcess } from './registry-process.ts';
import { copyImage } from '../../../src/registry/copy-image.ts';
import { isRetryableError } from '../../../src/core/errors.ts';

/**
 * The real distribution registry with its own authentication: htpasswd (Basic)
 * and `token` mode, where a token issuer started here on loopback signs ES256
 * JWTs as distribution's docs/spec/auth/jwt.md describes, with an x5c
 * certificate the registry trusts through `rootcertbundle`.
 */

// The services script installs the docker-registry binary these tests run.
before(ensureServices);

// bcrypt of "s3cret" at cost 4, made with: python3 -c "import crypt;
// print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"
const HTPASSWD = 'ci:$2b$04$iV8Un6yM90bVj0pdnSqwwefEteZmeP0kWkRSb.Xb6IuWTZwr8Q4dy\n';

/** A client of the private registry; the token issuer, when there is one, is also plain http on loopback. */
const client = (
  registry: RegistryProcess,
  creds?: { username: string; password: string },
  issuerHost?: string,
) =>
  localRegistryClient(
    {
      insecureHosts: [registry.host, ...(issuerHost ? [issuerHost] : [])],
      ...(creds ? { credentials: staticCredentials({ [registry.host]: creds }) } : {}),
    },
    registry.url,
  );

describe('htpasswd auth', () => {
  test('htpasswd registry: right credentials push and pull; wrong or none are non-retryable REGISTRY_AUTH', async () => {
    const registry = await startRegistry({
      auth: (dir) => {
        writeFileSync(join(dir, 'htpasswd'), HTPASSWD);
        return `  htpasswd:\n    realm: slsa-gate-test\n    path: ${join(dir, 'htpasswd')}`;
      },
    });
    try {
      const repo = `registry/${uniqueName('htpasswd')}`;
      const ci = client(registry, { username: 'ci', password: 's3cret' });
      const pushed = await pushTestImage(ci, repo, { tag: 'v1' });
      assert.equal((await ci.resolve(repo, 'v1')).digest, pushed.digest);
      const copy = await copyImage(ci, repo, `${repo}-release`, pushed.digest);
      assert.equal(copy.blobs.mounted, pushed.blobDigests.length);

      for (const bad of [client(registry, { username: 'ci', password: 'wrong' }), client(registry)]) {
        await assert.rejects(bad.getManifest(repo, pushed.digest), (err: GateError) => {
          assert.equal(err.code, 'REGISTRY_AUTH');
          assert.equal(isRetryableError(err), false);
          return true;
        });
      }
    } finally {
      await registry.stop();
    }
  });
});

describe('token auth', () => {
  const USERS: Record<string, { password: string; actions: string[] }> = {
    ci: { password: 's3cret', actions: ['pull', 'push'] },
    reader: { password: 'r3ad', actions: ['pull'] },
  };
  const SERVICE = 'slsa-gate-test-registry';
  const ISSUER = 'slsa-gate-test-issuer';
  let key: KeyObject;
  let certDer: Buffer;
  let lifetimeS = 300;
  let issued = 0;
  let issuer: ReturnType<typeof createServer>;
  let registry: RegistryProcess;
  let issuerHost: string;
  const tokenClient = (creds: { username: string; password: string }) => client(registry, creds, issuerHost);

  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

  /** jwt.md: header with alg and x5c; claims iss, sub, aud, exp, nbf, iat, jti, access. */
  function jwt(subject: string, access: Array<{ type: string; name: string; actions: string[] }>): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: ISSUER,
      sub: subject,
      aud: SERVICE,
      exp: now + lifetimeS,
      nbf: now - 1,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  }

  function issue(req: IncomingMessage, res: ServerResponse): void {
    issued++;
    const url = new URL(req.url ?? '/', 'http://issuer');
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    const account = USERS[user ?? ''];
    if (
      account === undefined ||
      account.password !== password ||
      url.searchParams.get('service') !== SERVICE
    ) {
      res.writeHead(401).end();
      return;
    }
    const access = url.searchParams.getAll('scope').map((scope) => {
      const [type, name, actions] = scope.split(':');
      return {
        type: type ?? '',
        name: name ?? '',
        actions: (actions ?? '').split(',').filter((a) => account.actions.includes(a)),
      };
    });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: jwt(user!, access), expires_in: lifetimeS }));
  }

  before(async () => {
    issuer = createServer(issue);
    await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
    issuerHost = `127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    registry = await startRegistry({
      auth: (dir) => {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=slsa-gate-test-issuer',
            '-keyout',
            join(dir, 'issuer.key'),
            '-out',
            join(dir, 'issuer.pem'),
          ],
          { stdio: 'ignore' },
        );
        key = createPrivateKey(readFileSync(join(dir, 'issuer.key')));
        certDer = Buffer.from(new X509Certificate(readFileSync(join(dir, 'issuer.pem'))).raw);
        return `  token:
    realm: http://${issuerHost}/token
    service: ${SERVICE}
    issuer: ${ISSUER}
    rootcertbundle: ${join(dir, 'issuer.pem')}`;
      },
    });
  });
  after(async () => {
    await registry?.stop();
    issuer?.closeAllConnections();
    await new Promise((resolve) => issuer?.close(resolve));
  });

  test('token registry: push, pull and mount with scoped Bearer tokens', async () => {
    const repo = `registry/${uniqueName('token')}`;
    const ci = tokenClient({ username: 'ci', password: 's3cret' });
    const pushed = await pushTestImage(ci, repo, { tag: 'v1' });
    assert.equal((await ci.resolve(repo, 'v1')).digest, pushed.digest);
    const copy = await copyImage(ci, repo, `${repo}-release`, pushed.digest);
    assert.equal(copy.blobs.mounted, pushed.blobDigests.length);
    assert.equal(
      createHash('sha256')
        .update((await ci.getManifest(`${repo}-release`, pushed.digest)).bytes)
        .digest('hex'),
      pushed.digest.slice(7),
    );
  });

  test('token registry: wrong credentials are a non-retryable REGISTRY_AUTH', async () => {
    const repo = `registry/${uniqueName('token-wrong')}`;
    await assert.rejects(
      tokenClient({ username: 'ci', password: 'wrong' }).resolve(repo, 'v1'),
      (err: GateError) => {
        assert.equal(err.code, 'REGISTRY_AUTH');
        assert.equal(isRetryableError(err), false);
        return true;
      },
    );
  });

  test('token registry: a missing push scope is reported as such', async () => {
    const repo = `registry/${uniqueName('token-scope')}`;
    await pushTestImage(tokenClient({ username: 'ci', password: 's3cret' }), repo);
    await assert.rejects(
      tokenClient({ username: 'reader', password: 'r3ad' }).pushBlob(repo, Buffer.from('x')),
      (err: GateError) => {
        assert.equal(err.code, 'REGISTRY_AUTH');
        assert.equal(err.detail?.reason, 'insufficient_scope');
        assert.equal(err.detail?.scope, `repository:${repo}:pull,push`);
        return true;
      },
    );
  });

  test('token registry: an expired token is replaced by a fresh one', async () => {
    const repo = `registry/${uniqueName('token-expiry')}`;
    const ci = tokenClient({ username: 'ci', password: 's3cret' });
    const pushed = await pushTestImage(ci, repo);
    lifetimeS = 2;
    try {
      const reader = tokenClient({ username: 'reader', password: 'r3ad' });
      await reader.getManifest(repo, pushed.digest);
      const before = issued;
      await reader.getManifest(repo, pushed.digest);
      assert.equal(issued, before, 'a live token is reused');
      await sleep(2100);
      assert.equal((await reader.getManifest(repo, pushed.digest)).digest, pushed.digest);
      assert.equal(issued, before + 1, 'the expired token was replaced');
    } finally {
      lifetimeS = 300;
    }
  });
});

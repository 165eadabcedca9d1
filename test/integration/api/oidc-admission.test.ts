/**
 * Admission of credential checks while an OIDC issuer is slow (docs/security-model.md#admission-and-read-deadlines):
 * junk tokens naming that issuer wait on its keys, and must not stop a hashed token or a token
 * of an issuer whose key is cached from being checked. Real API server, real archive, real
 * loopback issuer; the slow issuer is a loopback socket that accepts and never answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashToken, TokenVerifier } from '../../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../../src/api/server.ts';
import { type Archive, openArchive } from '../../../src/archive/archive.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { serveReadModel, type ServedReadModel } from '../../../src/audit/read-model/served-model.ts';
import { rsaKey, signJwt, startIssuer, type LoopbackIssuer } from '../../helpers/oidc-issuer.ts';
import { services, uniqueName } from '../../helpers/services.ts';

const AUDIENCE = 'slsa-gate';
const AUDITOR = 'auditor-token-'.padEnd(48, 'a');
let archive: Archive;
let healthy: LoopbackIssuer;
let silent: NetServer;
let silentIssuer: string;
let silentConnections = 0;
let readModelDir: string;
let served: ServedReadModel;

before(async () => {
  archive = await openArchive(services.mongoUri, uniqueName('oidc_admission').replaceAll('-', '_'));
  healthy = await startIssuer('key-1');
  // An issuer that accepts connections and never answers: an outage, or an issuer slowed down.
  silent = createServer(() => void (silentConnections += 1));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  silentIssuer = `http://127.0.0.1:${address.port}`;
  // The list the callers ask for answers from the read model (here of an empty archive).
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-oidc-read-model-'));
  await exportParquet(archive, readModelDir);
  served = serveReadModel(readModelDir);
});
after(async () => {
  served?.close();
  if (readModelDir) rmSync(readModelDir, { recursive: true, force: true });
  await archive?.close();
  await healthy?.close();
  silent?.close();
});

function claims(iss: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss,
    aud: AUDIENCE,
    sub: 'repo:acme/app:ref:refs/heads/main',
    repository: 'acme/app',
    repository_id: '1001',
    repository_owner_id: '501',
    iat: now,
    exp: now + 300,
  };
}

test('junk tokens waiting on a silent issuer do not stop hashed tokens or cached OIDC keys from being checked', async () => {
  const server = createApiServer({
    archive,
    readModel: { served, queries: [] },
    tokens: new TokenVerifier({
      tokens: [{ name: 'auditor', sha256: hashToken(AUDITOR), scopes: ['audit:read'] }],
      oidc: [
        { issuer: healthy.issuer, audience: AUDIENCE, claims: 'github-actions' },
        { issuer: silentIssuer, audience: AUDIENCE, claims: 'github-actions' },
      ],
      grants: [{ issuer: healthy.issuer, claims: { repository: 'acme/app' }, scopes: ['audit:read'] }],
    }),
    admission: { verifying: 4 },
    log: () => {},
  });
  const { url } = await listenApi(server, 0);
  const get = (token: string) =>
    fetch(`${url}/api/v1/decisions?limit=1`, { headers: { Authorization: `Bearer ${token}` } });
  try {
    // The honest OIDC caller's key is cached by its first request.
    assert.equal((await get(healthy.sign(claims(healthy.issuer)))).status, 200);
    // Attacker material: JWTs signed with a key the attacker made, naming the silent issuer
    // (its URL is in the API's configuration, not a secret), so each check waits on its keys.
    const junk = () => signJwt(claims(silentIssuer), rsaKey(`junk-${Math.random()}`));
    const waiting = Array.from({ length: 4 }, () =>
      get(junk()).then(
        (r) => r.status,
        () => 0,
      ),
    );
    while (silentConnections === 0) await sleep(20);
    await sleep(200);
    // Checks that need no fetch are answered while the junk waits.
    assert.equal((await get(AUDITOR)).status, 200, 'a hashed token is checked while junk waits');
    assert.equal(
      (await get(healthy.sign(claims(healthy.issuer)))).status,
      200,
      'a token of a cached key is checked while junk waits',
    );
    // Every slot for waiting on an issuer is taken: one more junk check is refused at once.
    const extra = await get(junk());
    assert.equal(extra.status, 503);
    assert.equal(((await extra.json()) as { error: { code: string } }).error.code, 'ISSUER_UNAVAILABLE');
    assert.deepEqual(await Promise.all(waiting), [503, 503, 503, 503]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

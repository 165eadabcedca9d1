/**
 * Every read the API makes of the archive carries a server-side time limit (maxTimeMS), so a
 * query the store cannot answer in time fails instead of holding an authenticated slot
 * (docs/security-model.md#admission-and-read-deadlines). Proved on the real store by watching
 * every command the API's archive connection sends while each route that reads is called.
 * The lists and statistics answer from the read model and send the store nothing at all.
 *
 * Failing before: the audit queries, the detail and evidence lookups and the publish route's
 * "already published" lookup were sent without maxTimeMS.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { CommandStartedEvent } from 'mongodb';
import { hashToken, TokenVerifier } from '../../../src/api/api-tokens.ts';
import { createApiServer, listenApi } from '../../../src/api/server.ts';
import { type Archive, databaseOf, openArchive } from '../../../src/archive/archive.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { serveReadModel, type ServedReadModel } from '../../../src/audit/read-model/served-model.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';
import { attestationDigest, fakeDigest, makeAttestation, makeDecision } from '../archive/make-records.ts';

const db = uniqueName('api_limits').replaceAll('-', '_');
const tokens = {
  reader: randomBytes(32).toString('hex'),
  ci: randomBytes(32).toString('hex'),
  admin: randomBytes(32).toString('hex'),
};
const commands: CommandStartedEvent[] = [];
let archive: Archive;
let connection: Connection;
let server: Server;
let base: string;
let readModelDir: string;
let served: ServedReadModel;
const startedWorkflows: string[] = [];

before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, db, { onCommand: (event) => commands.push(event) });
  await archive.storeAttestations([makeAttestation('lim1')]);
  await archive.recordDecision(makeDecision('lim1'));
  connection = await Connection.connect({ address: services.temporalAddress });
  const client = new Client({ connection, namespace: services.temporalNamespace });
  readModelDir = mkdtempSync(join(tmpdir(), 'slsa-gate-limits-read-model-'));
  await exportParquet(archive, readModelDir);
  served = serveReadModel(readModelDir);
  server = createApiServer({
    readModel: { served, queries: [] },
    archive,
    tokens: new TokenVerifier({
      tokens: [
        { name: 'reader', sha256: hashToken(tokens.reader), scopes: ['audit:read'] },
        { name: 'ci', sha256: hashToken(tokens.ci), scopes: ['publish'], sources: ['github.com/acme/app'] },
        { name: 'admin', sha256: hashToken(tokens.admin), scopes: ['admin'] },
      ],
    }),
    // A task queue no worker polls: the publish route's reads are what this test is about.
    publish: { client, taskQueue: uniqueName('nobody'), identityKey: randomBytes(32), archive },
    log: () => {},
  });
  base = (await listenApi(server, 0)).url;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  served?.close();
  if (readModelDir) rmSync(readModelDir, { recursive: true, force: true });
  const client = connection ? new Client({ connection, namespace: services.temporalNamespace }) : undefined;
  for (const workflowId of startedWorkflows)
    await client?.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
  await connection?.close();
  if (archive) await databaseOf(archive).dropDatabase();
  await archive?.close();
});

/** A minimal valid policy (key-signed provenance, pinned source), as policy-versions.test.ts loads it. */
const policy = JSON.stringify({
  version: 1,
  name: 'limits',
  rules: [
    {
      name: 'app',
      artifacts: ['127.0.0.1:5000/staging/app'],
      identities: [{ keyId: 'builder-key' }],
      builders: [],
      minBuildLevel: 1,
      source: { repos: ['github.com/acme/app'] },
    },
  ],
});

test('every archive read behind every route carries maxTimeMS', async () => {
  const decision = makeDecision('lim1');
  const call = (path: string, token: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  // Answered from the read model: the store is not read at all.
  const fromReadModel = new Set([
    '/api/v1/decisions',
    '/api/v1/decisions?outcome=PASSED&repository=127.0.0.1%3A5000%2Frelease%2Fapp&limit=1',
    '/api/v1/stats',
    '/?outcome=PASSED',
  ]);
  const reads: Array<[string, string, unknown?]> = [
    ['/api/v1/decisions', tokens.reader],
    ['/api/v1/decisions?outcome=PASSED&repository=127.0.0.1%3A5000%2Frelease%2Fapp&limit=1', tokens.reader],
    [`/api/v1/decisions/${encodeURIComponent(decision.decisionId)}`, tokens.reader],
    [`/api/v1/decisions/${decision.artifact.digest}`, tokens.reader],
    [`/api/v1/decisions/${encodeURIComponent(decision.workflowId)}`, tokens.reader],
    ['/api/v1/stats', tokens.reader],
    [`/api/v1/attestations/${attestationDigest('lim1')}/raw`, tokens.reader],
    ['/?outcome=PASSED', tokens.reader],
    [`/decisions/${encodeURIComponent(decision.decisionId)}`, tokens.reader],
    [
      '/api/v1/publishes',
      tokens.ci,
      {
        image: `127.0.0.1:5000/staging/app@${fakeDigest(uniqueName('limits'))}`,
        to: '127.0.0.1:5000/release/app',
      },
    ],
    ['/api/v1/policies', tokens.admin, { policy, origin: 'limits.json' }],
  ];
  for (const [path, token, body] of reads) {
    const before = commands.length;
    const res = await call(path, token, body);
    const text = await res.text();
    assert.ok(res.status < 300, `${path}: ${res.status} ${text.slice(0, 300)}`);
    if (path === '/api/v1/publishes')
      startedWorkflows.push((JSON.parse(text) as { workflowId: string }).workflowId);
    const sent = commands.slice(before).filter((c) => c.databaseName === db && READS.has(c.commandName));
    if (fromReadModel.has(path)) {
      assert.deepEqual(
        sent.map((c) => c.commandName),
        [],
        `${path} answers from the read model`,
      );
      continue;
    }
    assert.ok(sent.length > 0, `${path} reads the archive`);
    const unlimited = sent.filter((c) => !(Number(c.command.maxTimeMS) > 0));
    assert.deepEqual(
      unlimited.map((c) => `${c.commandName} ${String(c.command[c.commandName])}`),
      [],
      `${path}: reads without maxTimeMS`,
    );
  }
});

/** The commands that read (getMore continues a cursor under the limit of the command that opened it). */
const READS = new Set(['find', 'aggregate', 'count', 'distinct']);

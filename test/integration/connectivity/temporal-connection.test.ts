/**
 * The Temporal connection module against real endpoints: the dev server (plain, and through a
 * profile file), and a loopback TLS endpoint we start with our own CA, which proves the CA,
 * server-name and client-certificate settings reach both the client (grpc-js) and the worker
 * (Rust core) connections. The TLS endpoint speaks no gRPC, so every connect fails after the
 * handshake; what the server saw is the evidence. A client that trusts the server sends a
 * gRPC request (an HTTP/2 stream). Handshakes alone prove nothing for grpc-js: Node's TLS
 * client completes the handshake (and flushes the HTTP/2 preface) before it checks the
 * certificate, then drops the socket.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { resolveTemporalConnection } from '../../../src/config/temporal-connection.ts';
import { connectClient } from '../../../src/config/temporal-client.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { ensureServices, services } from '../../helpers/services.ts';
import { createTestPki, type TestPki } from '../../helpers/test-pki.ts';

describe('against the dev server', () => {
  before(ensureServices);

  test('a plain connection through the module reaches the namespace (client and worker connections)', async () => {
    const t = resolveTemporalConnection({
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_NAMESPACE: services.temporalNamespace,
    });
    const connection = await Connection.connect(t.connectionOptions());
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace: t.namespace });
      assert.equal(ns.namespaceInfo?.name, services.temporalNamespace);
    } finally {
      await connection.close();
    }
    const native = await NativeConnection.connect(t.nativeConnectionOptions());
    try {
      const ns = await native.workflowService.describeNamespace({ namespace: t.namespace });
      assert.equal(ns.namespaceInfo?.name, services.temporalNamespace);
    } finally {
      await native.close();
    }
  });

  test('a profile file selects the address and namespace the CLI client connects to', async () => {
    const pkiDir = createTestPki().dir;
    const file = join(pkiDir, 'temporal.toml');
    writeFileSync(
      file,
      `[profile.default]\naddress = "127.0.0.1:1"\nnamespace = "nowhere"\n\n[profile.gate]\naddress = "${services.temporalAddress}"\nnamespace = "${services.temporalNamespace}"\n`,
    );
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'gate' });
    assert.equal(config.temporalNamespace, services.temporalNamespace);
    const { client, close } = await connectClient(config);
    try {
      const ns = await client.workflowService.describeNamespace({ namespace: config.temporalNamespace });
      assert.equal(ns.namespaceInfo?.name, services.temporalNamespace);
    } finally {
      await close();
    }
  });
});

interface Handshake {
  path: string;
  servername: string | false | null;
  clientCertCN: string | undefined;
  clientCertAuthorized: boolean;
}

describe('against a loopback TLS endpoint with a private CA', () => {
  let pki: TestPki;
  before(() => {
    pki = createTestPki();
  });

  interface Seen {
    /** gRPC requests received: the client accepted the server. */
    handshakes: Handshake[];
    /** Handshakes the client aborted, and TLS sessions it set up. */
    failures: number;
    tlsHandshakes: number;
  }

  /** A fresh endpoint per attempt: a failed client connection keeps retrying in the background. */
  async function attempt(kind: 'client' | 'worker', env: NodeJS.ProcessEnv): Promise<Seen> {
    const seen: Seen = { handshakes: [], failures: 0, tlsHandshakes: 0 };
    const server: Http2SecureServer = createSecureServer({
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.caCert,
      // Ask for a client certificate, and record whether one came and chains to our CA.
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      const socket = stream.session?.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.handshakes.push({
        path: String(headers[':path']),
        servername: socket.servername,
        clientCertCN: peer && 'subject' in peer ? String(peer.subject?.CN) : undefined,
        clientCertAuthorized: socket.authorized,
      });
      stream.on('error', () => undefined);
      stream.close(2); // NGHTTP2_INTERNAL_ERROR: no gRPC here
    });
    const sessions = new Set<{ destroy(): void }>();
    server.on('session', (session) => {
      sessions.add(session);
      session.on('error', () => undefined);
    });
    server.on('tlsClientError', () => {
      seen.failures++;
    });
    server.on('secureConnection', () => {
      seen.tlsHandshakes++;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const t = resolveTemporalConnection({ TEMPORAL_ADDRESS: address, ...env });
      if (kind === 'client') {
        await assert.rejects(Connection.connect({ ...t.connectionOptions(), connectTimeout: '1500ms' }));
      } else {
        await assert.rejects(NativeConnection.connect(t.nativeConnectionOptions()));
      }
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    return seen;
  }

  function assertRefused(seen: Seen) {
    assert.ok(seen.failures + seen.tlsHandshakes > 0, 'the client reached the endpoint');
    assert.deepEqual(seen.handshakes, [], 'the client never sent a request');
  }

  for (const kind of ['client', 'worker'] as const) {
    test(`${kind}: the right CA and server name complete the handshake, with the client certificate`, async () => {
      const seen = await attempt(kind, {
        TEMPORAL_TLS_CA: pki.files.caCert,
        TEMPORAL_TLS_SERVER_NAME: pki.serverName,
        TEMPORAL_TLS_CERT: pki.files.clientCert,
        TEMPORAL_TLS_KEY: pki.files.clientKey,
      });
      assert.ok(seen.handshakes.length > 0, 'the client accepted the server and sent a gRPC request');
      for (const h of seen.handshakes) {
        assert.match(h.path, /^\/temporal\.api\./);
        assert.equal(h.servername, pki.serverName, 'SNI carries the server name override');
        assert.equal(h.clientCertCN, 'client');
        assert.equal(h.clientCertAuthorized, true);
      }
    });

    test(`${kind}: the wrong CA fails the handshake`, async () => {
      const seen = await attempt(kind, {
        TEMPORAL_TLS_CA: pki.files.otherCaCert,
        TEMPORAL_TLS_SERVER_NAME: pki.serverName,
      });
      assertRefused(seen);
    });

    test(`${kind}: the right CA with a wrong server name fails the handshake`, async () => {
      const seen = await attempt(kind, {
        TEMPORAL_TLS_CA: pki.files.caCert,
        TEMPORAL_TLS_SERVER_NAME: 'other.slsa-gate.test',
      });
      assertRefused(seen);
    });

    test(`${kind}: the right CA without a server name fails (the certificate does not name 127.0.0.1)`, async () => {
      const seen = await attempt(kind, { TEMPORAL_TLS_CA: pki.files.caCert });
      assertRefused(seen);
    });
  }
});

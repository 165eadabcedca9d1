/**
 * Admission under stalled strangers: `slsa-gate api serve` as its own process on loopback, with
 * the write routes on a real Worker, Temporal, the registry and the store (publish harness).
 * While 200 connections nobody authenticated begin a request and stall, an authenticated
 * publish gets its normal answer, within a bound comfortably above its normal time (the one
 * measured bound of the API, docs/security-model.md#admission-and-read-deadlines).
 *
 * Failing before: every request took a slot of one pool of 64 before its credential was
 * checked, and the login form read its body without a deadline; 64 stalled logins held every
 * slot and the publish was answered 503 BUSY until the attacker let go.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashToken } from '../../src/api/api-tokens.ts';
import { buildAndAttest } from '../../src/demo/demo-builder.ts';
import { requestFor, startPublishHarness, type PublishHarness } from '../helpers/publish-harness.ts';
import { services, uniqueName } from '../helpers/services.ts';

const cli = join(import.meta.dirname, '../../bin/slsa-gate.js');
const ciToken = randomBytes(32).toString('hex');
let h: PublishHarness;
let api: ChildProcessWithoutNullStreams;
let base: string;

before(async () => {
  h = await startPublishHarness();
  api = spawn(process.execPath, [cli, 'api', 'serve', '--port', '0'], {
    env: {
      ...process.env,
      SLSA_GATE_API_TOKENS_FILE: '',
      SLSA_GATE_API_TOKENS: JSON.stringify({
        tokens: [
          {
            name: 'ci',
            sha256: hashToken(ciToken),
            scopes: ['publish'],
            sources: ['github.com/example/app'],
          },
        ],
      }),
      SLSA_GATE_IDENTITY_KEY: h.identityKey.toString('hex'),
      MONGODB_URI: services.mongoUri,
      SLSA_GATE_DB: h.config.database,
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_NAMESPACE: services.temporalNamespace,
      SLSA_GATE_TASK_QUEUE: h.config.taskQueue,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    api.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    api.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    api.once('exit', (code) => reject(new Error(`api serve exited with ${code}: ${err}`)));
  });
});

after(async () => {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await once(api, 'exit');
  }
  await h?.close();
});

/** How the server ended a stalled connection. */
type StallEnd = 'busy' | 'timeout' | 'closed';

/**
 * Attacker material: raw TCP connections to the API that begin a request and stall, a byte a
 * second, reopened a second after the server drops them (as a script holding the login route
 * would). `headers`: a request line and part of a header, never finished. `body`: the full
 * headers of a same-origin login form announcing 4000 bytes, then the body a byte at a time.
 */
class StalledClients {
  private readonly sockets = new Set<Socket>();
  private running = true;
  readonly ended: Record<'headers' | 'body', Record<StallEnd, number>> = {
    headers: { busy: 0, timeout: 0, closed: 0 },
    body: { busy: 0, timeout: 0, closed: 0 },
  };

  constructor(
    private readonly url: URL,
    counts: { headers: number; body: number },
  ) {
    for (let i = 0; i < counts.headers; i++) this.open('headers');
    for (let i = 0; i < counts.body; i++) this.open('body');
  }

  private open(kind: 'headers' | 'body'): void {
    const socket = connect(Number(this.url.port), this.url.hostname);
    this.sockets.add(socket);
    let answer = '';
    let trickle: NodeJS.Timeout | undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.once('connect', () => {
      const start =
        kind === 'headers'
          ? `POST /login HTTP/1.1\r\nHost: ${this.url.host}\r\nX-Padding: `
          : [
              'POST /login HTTP/1.1',
              `Host: ${this.url.host}`,
              `Origin: ${this.url.origin}`,
              'Content-Type: application/x-www-form-urlencoded',
              'Content-Length: 4000',
              '',
              'token=',
            ].join('\r\n');
      socket.write(start);
      trickle = setInterval(() => socket.write('a'), 1000);
    });
    socket.once('close', () => {
      clearInterval(trickle);
      this.sockets.delete(socket);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      this.ended[kind][status === '503' ? 'busy' : status === '408' ? 'timeout' : 'closed'] += 1;
      if (this.running) setTimeout(() => this.running && this.open(kind), 1000);
    });
  }

  stop(): void {
    this.running = false;
    for (const socket of this.sockets) socket.destroy();
  }
}

async function stagedImage() {
  const staging = `staging/${uniqueName('admission')}`;
  const built = await buildAndAttest(h.registry, staging, {
    tag: 'v1.0.0',
    seed: staging,
    key: h.builderKey,
  });
  requestFor(h, staging, built.digest);
  return { staging, digest: built.digest };
}

/** An authenticated publish from request to result: the status of the POST, the final status, the time taken. */
async function publishThroughApi(staging: string, digest: string) {
  await h.loadPolicy(h.policies.get(digest)!);
  const startedAt = performance.now();
  const started = await fetch(`${base}/api/v1/publishes`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ciToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      image: `${h.registryHost}/${staging}:v1.0.0@${digest}`,
      to: `${h.registryHost}/release/${staging.slice('staging/'.length)}`,
    }),
  });
  const startBody = (await started.json()) as { progress?: string; error?: { code: string } };
  if (started.status !== 202)
    return { started: started.status, startBody, status: undefined, ms: performance.now() - startedAt };
  const progress = await fetch(`${base}${startBody.progress}?wait=60`, {
    headers: { Authorization: `Bearer ${ciToken}` },
  });
  const body = (await progress.json()) as { status?: string };
  return { started: started.status, startBody, status: body.status, ms: performance.now() - startedAt };
}

test(
  'under 200 stalled unauthenticated connections, an authenticated publish gets its normal answer in its normal time',
  { timeout: 600_000 },
  async (t) => {
    // The normal time: the same publish with nobody stalling.
    const warm = await stagedImage();
    const normal = await publishThroughApi(warm.staging, warm.digest);
    assert.equal(normal.started, 202, JSON.stringify(normal.startBody));
    assert.equal(normal.status, 'Published');

    const candidate = await stagedImage();
    const url = new URL(base);
    const stalled = new StalledClients(url, { headers: 100, body: 100 });
    try {
      // The attack holds: the routes open to strangers answer BUSY (every slot they may take is
      // held by a stalled login), which is where the attacker wanted the whole server to be.
      let anonymous = 0;
      for (let i = 0; i < 300 && anonymous !== 503; i++) {
        const res = await fetch(`${base}/assets/style.css`);
        await res.body?.cancel();
        anonymous = res.status;
        if (anonymous !== 503) await sleep(100);
      }
      assert.equal(anonymous, 503, 'the stalled logins hold every slot open to strangers');

      const underAttack = await publishThroughApi(candidate.staging, candidate.digest);
      assert.equal(underAttack.started, 202, JSON.stringify(underAttack.startBody));
      assert.equal(underAttack.status, 'Published');
      // Comfortably above the normal time: twice it, plus ten seconds for a loaded machine.
      const bound = 2 * normal.ms + 10_000;
      assert.ok(
        underAttack.ms <= bound,
        `answered in ${Math.round(underAttack.ms)} ms under attack, normal ${Math.round(normal.ms)} ms, bound ${Math.round(bound)} ms`,
      );

      t.diagnostic(`normal ${Math.round(normal.ms)} ms, under attack ${Math.round(underAttack.ms)} ms`);

      // The stalls are cut, not waited for: a stalled body by its deadline (408), stalled
      // headers by Node's headers timeout; the rest were turned away at once.
      for (
        let i = 0;
        i < 600 && (stalled.ended.body.timeout === 0 || stalled.ended.headers.timeout === 0);
        i++
      )
        await sleep(100);
      assert.ok(stalled.ended.body.timeout > 0, `a stalled body was cut: ${JSON.stringify(stalled.ended)}`);
      assert.ok(
        stalled.ended.headers.timeout > 0,
        `stalled headers were cut: ${JSON.stringify(stalled.ended)}`,
      );
      assert.ok(
        stalled.ended.body.busy > 0,
        `logins beyond the pool were turned away: ${JSON.stringify(stalled.ended)}`,
      );
      t.diagnostic(`stalled connections ended: ${JSON.stringify(stalled.ended)}`);
    } finally {
      stalled.stop();
    }
  },
);

/** Starts `attestation-server.ts` as a child process on loopback and drives it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./attestation-server.ts', import.meta.url));

/** A running attestation store process. */
export interface AttestationServer {
  url: string;
  dir: string;
  /** Store these attestations (bundle JSON objects) for a digest `alg:value`. */
  put(digest: string, attestations: unknown[]): void;
  /** Store DSSE envelopes as Archivista would: by gitoid, indexed under a subject digest `alg:value`. */
  putArchivista(digest: string, envelopes: Uint8Array[]): string[];
  control(state: {
    mode: 'ok' | 'unavailable' | 'pending';
    times?: number;
    retryAfterSeconds?: number;
    latencyMs?: number;
  }): Promise<void>;
  requests(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts a store serving a fresh temporary directory. */
export async function startAttestationServer(): Promise<AttestationServer> {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-attestations-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`attestation server said: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`attestation server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    dir,
    put(digest, attestations) {
      writeFileSync(
        join(dir, `${digest.replace(':', '-')}.jsonl`),
        attestations.map((a) => JSON.stringify(a)).join('\n'),
      );
    },
    putArchivista(digest, envelopes) {
      const [alg, value] = digest.split(':') as [string, string];
      const gitoids = envelopes.map((bytes) => {
        const gitoid = createHash('sha256').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
        writeFileSync(join(dir, `archivista-${gitoid}.json`), bytes);
        return gitoid;
      });
      writeFileSync(join(dir, `archivista-${alg}-${value}.gitoids`), gitoids.join('\n'));
      return gitoids;
    },
    async control(state) {
      const res = await fetch(`${url}/_control`, { method: 'POST', body: JSON.stringify(state) });
      if (!res.ok) throw new Error(`control: HTTP ${res.status}`);
    },
    async requests() {
      const res = await fetch(`${url}/_stats`);
      return ((await res.json()) as { requests: number }).requests;
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

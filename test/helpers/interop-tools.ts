import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const buildScript = fileURLToPath(new URL('../../scripts/interop-tools.sh', import.meta.url));

/** The consumers' tools, as built by scripts/interop-tools.sh (cached in .tools/interop). */
export interface InteropTools {
  cosign: string;
  slsaVerifier: string;
  crane: string;
  /** Runs a tool offline: its own HOME (no cached Sigstore TUF root), loopback registry only. */
  run(tool: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  /** A trusted root with no authorities or logs: key-only verification, as an offline consumer has. */
  emptyTrustedRoot: string;
}

let tools: InteropTools | undefined;

/** Builds the pinned tools on first use (minutes), then returns at once. */
export function interopTools(): InteropTools {
  if (tools) return tools;
  const dir = execFileSync('bash', [buildScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .pop()!;
  const home = mkdtempSync(join(tmpdir(), 'slsa-gate-interop-home-'));
  const emptyTrustedRoot = join(home, 'trusted_root.json');
  // protobuf-specs TrustedRoot with empty lists: nothing but the --key passed on the command line is trusted.
  writeFileSync(
    emptyTrustedRoot,
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    }),
  );
  tools = {
    cosign: join(dir, 'cosign'),
    slsaVerifier: join(dir, 'slsa-verifier'),
    crane: join(dir, 'crane'),
    emptyTrustedRoot,
    run(tool, args) {
      const r = spawnSync(tool, args, {
        encoding: 'utf8',
        timeout: 120_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1' },
      });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
    },
  };
  return tools;
}

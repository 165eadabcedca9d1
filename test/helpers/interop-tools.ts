import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY_TRUSTED_ROOT } from '../../scripts/cosign-offline.ts';

/**
 * Where scripts/interop-tools.sh puts the binaries. The test command builds them before the
 * runner starts (scripts/test.sh): a cold Go build takes tens of minutes on two cores and must
 * never run inside a test hook, where it would outlast the hook's timeout.
 */
const toolsDir =
  process.env.SLSA_GATE_INTEROP_TOOLS ?? fileURLToPath(new URL('../../.tools/interop/', import.meta.url));

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

/** The pinned tools already built by the test command; throws at once, naming the fix, when they are not. */
export function interopTools(): InteropTools {
  if (tools) return tools;
  const paths = {
    cosign: join(toolsDir, 'cosign'),
    slsaVerifier: join(toolsDir, 'slsa-verifier'),
    crane: join(toolsDir, 'crane'),
  };
  for (const path of Object.values(paths)) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new Error(
        `interop tool ${path} is not built: run \`bash scripts/interop-tools.sh\` (npm test does it first)`,
      );
    }
  }
  const home = mkdtempSync(join(tmpdir(), 'slsa-gate-interop-home-'));
  const emptyTrustedRoot = join(home, 'trusted_root.json');
  writeFileSync(emptyTrustedRoot, EMPTY_TRUSTED_ROOT);
  tools = {
    ...paths,
    emptyTrustedRoot,
    run(tool, args) {
      // Bounded: one tool call takes about a second; two minutes means it hangs.
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

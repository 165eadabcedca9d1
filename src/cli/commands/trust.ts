import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import { packageFile } from '../../loaders/package-root.ts';
import type { Command } from './command.ts';

const DEFAULT_TUF_ROOT = packageFile('assets/trust/sigstore-tuf-root-v15.json');
const DEFAULT_CACHE = packageFile('.data/tuf-cache');

const USAGE = `Usage: slsa-gate trust refresh [--out FILE] [--mirror URL] [--tuf-root FILE] [--cache-dir DIR] [--timeout MS]

Updates the pinned Sigstore trusted root through TUF (@sigstore/tuf): starting from the
pinned TUF root, it walks root rotations, refuses expired or rolled-back metadata, checks
the trusted_root.json target against the signed targets metadata, and writes it to --out
(default: the shipped assets/trust/sigstore-public-good-trusted_root.json). The TUF cache
(--cache-dir, default .data/tuf-cache) keeps the newest metadata seen, so a later refresh
cannot roll back. Offline or on any TUF failure: TRUST_ROOT_UNAVAILABLE, nothing written.`;

/** `a: b: c` from an error and its causes (tuf-js wraps the reason). */
function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error && parts.length < 5; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}

/** `slsa-gate trust refresh`. */
export const trustRefreshCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        out: { type: 'string' },
        mirror: { type: 'string' },
        'tuf-root': { type: 'string' },
        'cache-dir': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const timeout = values.timeout === undefined ? 10_000 : Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout <= 0)
      throw new GateError('INPUT_INVALID', '--timeout: milliseconds expected');
    const [
      { getTrustedRoot, DEFAULT_MIRROR_URL },
      { TrustedRoot },
      { parseTrustedRoot },
      { DEFAULT_TRUSTED_ROOT },
    ] = await Promise.all([
      import('@sigstore/tuf'),
      import('@sigstore/protobuf-specs'),
      import('../../core/trust/trust-material.ts'),
      import('../../loaders/trust-material-files.ts'),
    ]);
    const out = values.out ?? DEFAULT_TRUSTED_ROOT;
    const mirror = values.mirror ?? DEFAULT_MIRROR_URL;

    let json: unknown;
    try {
      const root = await getTrustedRoot({
        mirrorURL: mirror,
        rootPath: values['tuf-root'] ?? DEFAULT_TUF_ROOT,
        cachePath: values['cache-dir'] ?? DEFAULT_CACHE,
        forceCache: false,
        retry: false,
        timeout,
      });
      json = TrustedRoot.toJSON(root);
    } catch (cause) {
      // docs/checklist.md#row-27: retryable, and nothing is replaced with unverified material.
      throw new GateError('TRUST_ROOT_UNAVAILABLE', `TUF refresh from ${mirror} failed: ${causes(cause)}`, {
        cause,
        detail: { mirror },
      });
    }
    const text = `${JSON.stringify(json, null, 2)}\n`;
    // The same checks every verification applies to a trusted root, before it replaces the pinned one.
    parseTrustedRoot(Buffer.from(text), `TUF target trusted_root.json from ${mirror}`);
    const tmp = join(dirname(out), `.trusted_root.${process.pid}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, out);
    console.log(`trusted root updated from ${mirror}: ${out}`);
    return 0;
  },
};

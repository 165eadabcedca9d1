/**
 * The baseline of `npm run bench:verify`: plain @sigstore/verify, in a process of its own so
 * that none of slsa-gate's replacements inside sigstore-js (src/core/verify/sigstore-fast-path.ts,
 * asn1-der-encoding.ts) reach it. Imports sigstore-js only. Driven by scripts/bench-verify.ts
 * over IPC: `{ bundles, trustedRoot }` once, then `{ from, count }` per round, each answered
 * with the verifications done and the CPU time they took.
 */
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

type Message = { bundles: string; trustedRoot: string } | { from: number; count: number };

let bundles: string[] = [];
let verifier: Verifier | undefined;

process.on('message', (message: Message) => {
  if ('bundles' in message) {
    bundles = readFileSync(message.bundles, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(message.trustedRoot, 'utf8')));
    verifier = new Verifier(toTrustMaterial(root));
    process.send!({ ready: true });
    return;
  }
  const start = process.cpuUsage();
  for (let i = message.from; i < message.from + message.count; i++) {
    // From the bundle's text, as slsa-gate is measured from its bytes.
    verifier!.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundles[i]!))));
  }
  const used = process.cpuUsage(start);
  process.send!({ ops: message.count, cpuMicros: used.user + used.system });
});

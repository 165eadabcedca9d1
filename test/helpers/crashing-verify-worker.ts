/**
 * A verification thread that crashes (test double of src/audit/verify-worker.ts): it answers
 * its first two items as verified, then throws outside any handler, as a thread whose
 * verifier hit a fault would.
 */
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
let answered = 0;
port.postMessage({ ready: true });
port.on('message', ({ id }: { id: number }) => {
  if (answered++ < 2) {
    port.postMessage({ id, output: undefined });
    return;
  }
  setImmediate(() => {
    throw new Error('verifier fault');
  });
});

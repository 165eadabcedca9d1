/**
 * A verification thread of the pool (src/audit/verify-pool.ts): builds the handler of the
 * task it was started with, then answers each item with its output or the coded error the
 * handler raised. An error no code names is answered as INTERNAL_ERROR (kind and one bounded
 * line, never a stack).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { internalError, isGateError } from '../core/errors.ts';
import { applyVerifyCacheSwitch } from '../loaders/verify-cache-switch.ts';
import type { ThreadReply } from './verify-pool.ts';
import { taskHandler, type VerifyTask } from './verify-tasks.ts';

const port = parentPort;
if (port === null) throw new Error('verify-worker runs as a worker thread only');

function coded(err: unknown): { code: string; message: string } {
  const gate = isGateError(err) ? err : internalError(err);
  return { code: gate.code, message: gate.message };
}

// The caches are per thread: this one follows SLSA_GATE_VERIFY_CACHE as the parent does.
applyVerifyCacheSwitch();
let handle: ((input: unknown) => unknown) | undefined;
try {
  handle = taskHandler(workerData as VerifyTask) as (input: unknown) => unknown;
  port.postMessage({ ready: true } satisfies ThreadReply);
} catch (err) {
  port.postMessage({ setupFailed: coded(err) } satisfies ThreadReply);
}

port.on('message', ({ id, input }: { id: number; input: unknown }) => {
  if (handle === undefined) return;
  let reply: ThreadReply;
  try {
    reply = { id, output: handle(input) };
  } catch (err) {
    reply = { id, error: coded(err) };
  }
  port.postMessage(reply);
});

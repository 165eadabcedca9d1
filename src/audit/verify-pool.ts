/**
 * The verification pool of the bulk runs (`audit verify`, `audit replay`, the drift monitor):
 * the same task handler (src/audit/verify-tasks.ts) run on worker threads, one per core by
 * default, or in this thread when one job is asked for. Callers stream their input through
 * `inOrder`, which keeps at most `window` items in hand and yields results in input order, so
 * a parallel run reports exactly what a serial one does, in the same order, with memory
 * bounded by the window whatever the size of the archive.
 *
 * A thread that crashes or exits while it holds work fails the whole run with
 * VERIFY_WORKER_FAILED: work handed to it is never silently dropped.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GateError, isErrorCode } from '../core/errors.ts';
import { taskHandler, type VerifyTask, type VerifyTaskKind, type VerifyTasks } from './verify-tasks.ts';

/** Items in hand per thread: enough to keep a thread busy while the next one crosses over, no more. */
export const IN_FLIGHT_PER_JOB = 4;
/** An upper bound on `--jobs`: more threads than this only cost memory. */
const MAX_JOBS = 64;

/**
 * The thread entry point: the TypeScript source under tsx (development, tests), the bundled
 * entry dist/cli/verify-worker.mjs in the built CLI (scripts/build.js names it; this module is
 * bundled into dist/cli or dist/chunks, both one level below dist/).
 */
export const VERIFY_WORKER_SCRIPT = import.meta.url.endsWith('.ts')
  ? new URL('./verify-worker.ts', import.meta.url)
  : new URL('../cli/verify-worker.mjs', import.meta.url);

/** What a thread answers for one item: its output, or the coded error the handler raised. */
export type ThreadReply =
  /** The handler is built: the thread takes items. */
  | { ready: true }
  | { id: number; output: unknown }
  | { id: number; error: { code: string; message: string } }
  /** The handler could not be built from the setup (bad trust material, a bad policy). */
  | { setupFailed: { code: string; message: string } };

export interface VerifyPool<K extends VerifyTaskKind> {
  /** Threads (1: the handler runs in this thread). */
  readonly jobs: number;
  /** The most items a caller should keep in hand at once (`inOrder`'s window). */
  readonly window: number;
  /** The most items that were in hand at once so far: never above `window` when fed through `inOrder`. */
  readonly peakInFlight: number;
  /** Resolves when every thread has built its handler (a bench starts its clock there). */
  ready(): Promise<void>;
  run(input: VerifyTasks[K]['input']): Promise<VerifyTasks[K]['output']>;
  close(): Promise<void>;
}

/** `--jobs N`: a positive integer; absent, one per available core. */
export function jobsOption(value: string | undefined): number {
  if (value === undefined) return Math.min(availableParallelism(), MAX_JOBS);
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS)
    throw new GateError('INPUT_INVALID', `--jobs must be an integer from 1 to ${MAX_JOBS}, not ${value}`);
  return jobs;
}

/**
 * A pool running `task` with `jobs` threads. With one job and no `script`, the handler runs in
 * this thread (the serial path). `script` replaces the thread entry point (tests).
 */
export function createVerifyPool<K extends VerifyTaskKind>(
  task: VerifyTask<K>,
  opts: { jobs: number; script?: URL },
): VerifyPool<K> {
  // Built here first in any case: a setup that cannot be built (trust material or a policy
  // that does not parse) fails at once with its code, before any thread starts.
  const handle = taskHandler(task);
  if (opts.jobs === 1 && opts.script === undefined) return inThisThread(handle);
  return onThreads(task, opts.jobs, opts.script ?? VERIFY_WORKER_SCRIPT);
}

function inThisThread<K extends VerifyTaskKind>(
  handle: (input: VerifyTasks[K]['input']) => VerifyTasks[K]['output'],
): VerifyPool<K> {
  let inFlight = 0;
  let peak = 0;
  return {
    jobs: 1,
    window: 1,
    get peakInFlight() {
      return peak;
    },
    async run(input) {
      peak = Math.max(peak, ++inFlight);
      try {
        return handle(input);
      } finally {
        inFlight--;
      }
    },
    async ready() {},
    async close() {},
  };
}

interface Pending {
  resolve: (output: never) => void;
  reject: (err: unknown) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

function onThreads<K extends VerifyTaskKind>(task: VerifyTask<K>, jobs: number, script: URL): VerifyPool<K> {
  let nextId = 0;
  let peak = 0;
  let closing = false;
  let failure: GateError | undefined;
  const threads: Thread[] = [];
  const readiness: Array<Promise<void>> = [];
  let rejectFailed: (err: GateError) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);

  const inFlight = () => threads.reduce((n, t) => n + t.pending.size, 0);
  /** Fails every item in hand and every later one with `err`, and stops the other threads. */
  const fail = (err: GateError) => {
    if (failure !== undefined || closing) return;
    failure = err;
    rejectFailed(err);
    for (const thread of threads) {
      for (const p of thread.pending.values()) p.reject(err);
      thread.pending.clear();
      void thread.worker.terminate();
    }
  };

  for (let index = 0; index < jobs; index++) {
    const worker = new Worker(script, { workerData: task });
    const thread: Thread = { worker, pending: new Map() };
    threads.push(thread);
    // An idle thread does not keep the process alive; one with work in hand does.
    worker.unref();
    let isReady: () => void = () => undefined;
    readiness.push(new Promise((resolve) => (isReady = resolve)));
    worker.on('message', (reply: ThreadReply) => {
      if ('ready' in reply) {
        isReady();
        return;
      }
      if ('setupFailed' in reply) {
        fail(codedError(reply.setupFailed));
        return;
      }
      const pending = thread.pending.get(reply.id);
      if (pending === undefined) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if ('error' in reply) pending.reject(codedError(reply.error));
      else pending.resolve(reply.output as never);
    });
    worker.on('error', (err) => {
      fail(
        new GateError(
          'VERIFY_WORKER_FAILED',
          `verification thread ${index + 1} of ${jobs} crashed: ${firstLine(err)}`,
          { detail: { thread: index + 1 } },
        ),
      );
    });
    worker.on('messageerror', (err) => {
      fail(
        new GateError(
          'VERIFY_WORKER_FAILED',
          `verification thread ${index + 1} of ${jobs} sent an unreadable answer: ${firstLine(err)}`,
        ),
      );
    });
    worker.on('exit', (code) => {
      fail(
        new GateError(
          'VERIFY_WORKER_FAILED',
          `verification thread ${index + 1} of ${jobs} exited (code ${code}) with ${thread.pending.size} item(s) in hand`,
          { detail: { thread: index + 1, exitCode: code } },
        ),
      );
    });
  }

  return {
    jobs,
    window: jobs * IN_FLIGHT_PER_JOB,
    get peakInFlight() {
      return peak;
    },
    async ready() {
      await Promise.race([Promise.all(readiness), failed]);
    },
    run(input) {
      if (failure !== undefined) return Promise.reject(failure);
      if (closing) return Promise.reject(new GateError('INTERNAL_ERROR', 'verification pool already closed'));
      const thread = threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        thread.pending.set(id, { resolve, reject });
        peak = Math.max(peak, inFlight());
        thread.worker.ref();
        thread.worker.postMessage({ id, input });
      });
    },
    async close() {
      closing = true;
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').slice(0, 300);
}

/** The error a thread reported, with its code when it is one of ours. */
function codedError(error: { code: string; message: string }): GateError {
  return isErrorCode(error.code)
    ? new GateError(error.code, error.message)
    : new GateError('INTERNAL_ERROR', error.message);
}

/**
 * Starts `start` for each item of `items` with at most `window` started and not yet yielded,
 * and yields the results in the order of `items`. The first rejection, in that order, ends
 * the iteration with its error.
 */
export async function* inOrder<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  start: (item: T) => Promise<R>,
  window: number,
): AsyncGenerator<R> {
  const started: Array<Promise<R>> = [];
  const hold = (promise: Promise<R>) => {
    // Awaited in order below; a later one that fails first must not count as unhandled meanwhile.
    promise.catch(() => undefined);
    started.push(promise);
  };
  for await (const item of items) {
    hold(start(item));
    if (started.length >= window) yield await started.shift()!;
  }
  while (started.length > 0) yield await started.shift()!;
}

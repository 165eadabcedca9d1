/**
 * The read model as the API serves it: loaded into memory once per process and kept in step
 * with the export directory. Every audit answer runs on the model held here; when the
 * export's `_export.json` says a newer run finished, the model takes in what that run added
 * (`refresh()`), or is reopened and swapped in, while the old one finishes the queries it is
 * running. Nothing exported yet is READ_MODEL_MISSING, never an empty answer.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GateError } from '../../core/errors.ts';
import { EXPORT_STATE_FILE } from './export-parquet.ts';
import { exportedState, openReadModel, type ReadModel } from './read-model.ts';

/**
 * The time the last export run finished reading the store, for each model a served model
 * holds: a run that found nothing new leaves the files as they were but still moves this on
 * (docs/audit.md#how-fresh-an-answer-is).
 */
const servedAsOf = new WeakMap<ReadModel, string>();

/** How fresh a model is: the export time of the last run it holds or, served, the last run seen. */
export function asOfOf(model: ReadModel): string {
  const asOf =
    servedAsOf.get(model) ?? (model as ReadModel & { asOf?: string }).asOf ?? model.state?.exportedAt;
  if (asOf === undefined)
    throw new GateError('READ_MODEL_MISSING', `no read model at ${model.dir}`, {
      detail: { dir: model.dir },
    });
  return asOf;
}

/**
 * Checks that `dir` is a directory a server can read a read model from once one is exported
 * there: READ_MODEL_MISSING (naming it and the command that makes one) when it does not exist,
 * is not a directory, or is not readable. An empty directory passes: the first export is yet
 * to come (docs/audit.md#no-read-model-no-answer).
 */
export function readModelDirectory(dir: string): void {
  const make = `make it with: slsa-gate audit export --format parquet --out ${dir}`;
  const stat = statSync(dir, { throwIfNoEntry: false });
  const unusable = !stat
    ? 'no such directory'
    : !stat.isDirectory()
      ? 'not a directory'
      : !readable(dir)
        ? 'the directory is not readable'
        : undefined;
  if (unusable)
    throw new GateError('READ_MODEL_MISSING', `no read model at ${dir}: ${unusable}; ${make}`, {
      detail: { dir },
    });
}

function readable(dir: string): boolean {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** One loaded read model, shared by every request of a process. */
export interface ServedReadModel {
  readonly dir: string;
  /** Runs `query` on the current model (loading it the first time); READ_MODEL_MISSING while nothing is exported. */
  use<T>(query: (model: ReadModel) => Promise<T>): Promise<T>;
  /** Takes in a newer export if there is one; `changed` says whether the served model moved on. */
  refresh(): Promise<{ changed: boolean }>;
  close(): void;
}

/** The export's Parquet files, sorted: a run that found nothing new leaves them as they were. */
function parquetFiles(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.parquet'))
    .sort()
    .join('\n');
}

interface Held {
  model: ReadModel;
  exportedAt: string;
  files: string;
  running: number;
  retired: boolean;
}

/**
 * Serves the read model of `dir`, checking `_export.json` every `pollMs` for a newer run.
 * `log` hears about a refresh that failed (the model in hand keeps answering).
 */
export function serveReadModel(
  dirArg: string,
  options: { pollMs?: number; log?: (line: string) => void } = {},
): ServedReadModel {
  const dir = resolve(dirArg);
  const log = options.log ?? ((line: string) => console.error(line));
  let held: Held | undefined;
  let pending: Promise<{ changed: boolean }> | undefined;
  let closed = false;

  const release = (h: Held) => {
    h.running--;
    if (h.retired && h.running === 0) h.model.close();
  };

  const load = async (): Promise<{ changed: boolean }> => {
    const { exportedAt } = exportedState(dir);
    if (held && held.exportedAt === exportedAt) return { changed: false };
    const files = parquetFiles(dir);
    if (held && held.files === files) {
      // Nothing new was written: the model in hand holds the same rows, as of this run.
      held.exportedAt = exportedAt;
      return { changed: false };
    }
    const inPlace = held?.model as
      (ReadModel & { refresh?: () => Promise<{ changed: boolean }> }) | undefined;
    if (held && inPlace?.refresh) {
      await inPlace.refresh();
      held.exportedAt = exportedAt;
      held.files = files;
      return { changed: true };
    }
    const model = await openReadModel(dir, { load: true });
    if (closed) {
      model.close();
      return { changed: false };
    }
    const old = held;
    // The state the model read at open, which a run finishing meanwhile may have passed.
    held = { model, exportedAt: model.state?.exportedAt ?? exportedAt, files, running: 0, retired: false };
    if (old) {
      old.retired = true;
      if (old.running === 0) old.model.close();
    }
    return { changed: true };
  };

  const refresh = (): Promise<{ changed: boolean }> => {
    if (closed) return Promise.resolve({ changed: false });
    // One load at a time; callers arriving meanwhile share it.
    pending ??= load().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const timer = setInterval(() => {
    refresh().catch((err: unknown) => {
      // Before the first export there is nothing to report: requests say READ_MODEL_MISSING.
      if (held === undefined && err instanceof GateError && err.code === 'READ_MODEL_MISSING') return;
      const coded = err instanceof GateError ? `${err.code}: ${err.message}` : String(err);
      log(`read model ${dir}: refresh failed: ${coded}`);
    });
  }, options.pollMs ?? 1000);
  timer.unref();

  return {
    dir,
    async use(query) {
      if (closed) throw new GateError('INTERNAL_ERROR', 'the read model is closed');
      // An export taken away (the directory removed, a volume unmounted) is not served from
      // memory as if it were still there: the request is READ_MODEL_MISSING.
      if (held && !existsSync(join(dir, EXPORT_STATE_FILE))) {
        held.retired = true;
        if (held.running === 0) held.model.close();
        held = undefined;
      }
      if (!held) await refresh();
      const h = held;
      if (!h) throw new GateError('READ_MODEL_MISSING', `no read model at ${dir}`, { detail: { dir } });
      servedAsOf.set(h.model, h.exportedAt);
      h.running++;
      try {
        return await query(h.model);
      } finally {
        release(h);
      }
    },
    refresh,
    close() {
      closed = true;
      clearInterval(timer);
      if (held) {
        held.retired = true;
        if (held.running === 0) held.model.close();
        held = undefined;
      }
    },
  };
}

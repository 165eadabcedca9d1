/**
 * The export schedule's activity: one incremental run of the read model export
 * (src/audit/read-model/export-parquet.ts) into the worker's configured directory. The
 * directory is the operator's (SLSA_GATE_READ_MODEL), never a workflow input: whoever can
 * start a workflow on the task queue does not choose where the worker writes.
 */
import { Context } from '@temporalio/activity';
import { exportParquet } from '../audit/read-model/export-parquet.ts';
import { GateError } from '../core/errors.ts';
import type { ActivityDeps } from './deps.ts';

/** What one scheduled export run did. */
export interface ReadModelExportResult {
  /** New rows written, all tables together (0: nothing new). */
  written: number;
  /** The run's export time: the read model's `asOf` from now on. */
  exportedAt: string;
}

/** How often a running export says it is alive: well inside the workflow's 30 s heartbeat timeout. */
const HEARTBEAT_MS = 5_000;

export function createReadModelExportActivities(deps: ActivityDeps) {
  return {
    async exportReadModel(): Promise<ReadModelExportResult> {
      const dir = deps.settings.readModelDir;
      if (!dir) {
        throw new GateError(
          'CONFIG_INVALID',
          'the export schedule runs on a worker without a read model directory: set SLSA_GATE_READ_MODEL (the directory the API reads)',
        );
      }
      // Alive while it runs (heartbeatTimeout in workflows/export-read-model.ts).
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
      let report;
      try {
        report = await exportParquet(deps.archive, dir);
      } finally {
        clearInterval(beat);
      }
      return {
        written: Object.values(report.written).reduce((sum, n) => sum + n, 0),
        exportedAt: report.state.exportedAt,
      };
    },
  };
}

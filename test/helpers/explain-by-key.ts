/**
 * Which reads an archive client sent, and whether the store serves each one by the `_id`
 * index: FerretDB 1.x answers `explain` with `filterPushdown` and SQLite's query plan
 * (`SEARCH <table> USING INDEX <table>__id_` when the `_id` index serves it, `SCAN` when not);
 * MongoDB with its winning plan (`COLLSCAN` when no index serves it).
 */
import assert from 'node:assert/strict';
import type { CommandStartedEvent, Document } from 'mongodb';
import { type Archive, databaseOf } from '../../src/archive/archive.ts';

const READS = new Set(['find', 'update', 'delete', 'findAndModify', 'aggregate', 'count', 'distinct']);

/** A command listener that keeps the reads sent while `recording` is true. */
export function readRecorder() {
  const reads: CommandStartedEvent[] = [];
  const recorder = {
    recording: false,
    reads,
    onCommand(event: CommandStartedEvent) {
      if (recorder.recording && READS.has(event.commandName)) reads.push(event);
    },
  };
  return recorder;
}

/** The filters of one recorded command (an update or delete carries one per statement). */
export function filtersOf(event: CommandStartedEvent): Array<{ collection: string; filter: Document }> {
  const cmd = event.command;
  const collection = String(cmd[event.commandName]);
  if (event.commandName === 'find') return [{ collection, filter: cmd.filter ?? {} }];
  if (event.commandName === 'update') {
    return (cmd.updates as Array<{ q: Document }>).map((u) => ({ collection, filter: u.q }));
  }
  if (event.commandName === 'delete') {
    return (cmd.deletes as Array<{ q: Document }>).map((d) => ({ collection, filter: d.q }));
  }
  return [{ collection, filter: cmd.query ?? { pipeline: cmd.pipeline } }];
}

/** Asserts that every recorded read is a lookup by `_id` that the store serves from its index. */
export async function assertReadsByKey(archive: Archive, reads: CommandStartedEvent[]): Promise<void> {
  for (const { collection, filter } of reads.flatMap(filtersOf)) {
    const shown = `${collection} read by ${JSON.stringify(filter)}`;
    const keys = Object.keys(filter);
    if (archive.server.lookupsByIdOnly) {
      assert.deepEqual(keys, ['_id'], shown);
      assert.equal(typeof filter._id, 'string', shown);
    } else {
      assert.equal(keys[0], '_id', shown);
    }
    const plan = await databaseOf(archive).command({
      explain: { find: collection, filter },
      verbosity: 'queryPlanner',
    });
    if (archive.server.kind === 'ferretdb') {
      assert.equal(plan.filterPushdown, true, `${shown}: filter pushed down`);
      const steps = (plan.queryPlanner as { Plan: string[] }).Plan.join('\n');
      assert.match(steps, /SEARCH \S+ USING INDEX \S+__id_/, `${shown}: ${steps}`);
    } else {
      assert.doesNotMatch(JSON.stringify(plan.queryPlanner), /COLLSCAN/, shown);
    }
  }
}

/**
 * Workflow histories as JSON files, for the replay test. The format is @temporalio/proto's
 * own `History.toObject` (enums as names, 64-bit integers as decimal strings, bytes as
 * base64, timestamps as {seconds, nanos}), read back with `History.fromObject`: a lossless
 * round trip through one protobuf runtime.
 *
 * Why not the SDK's historyToJSON/historyFromJSON (the `temporal workflow show -o json`
 * format): in this install @temporalio/common and @temporalio/proto each carry their own
 * copy of protobufjs 8 (the hoisted one is 7, for @grpc/proto-loader), and the protojson
 * converter of one copy rejects the other copy's types ("type must be a Type").
 */
import proto from '@temporalio/proto';

const { History } = proto.temporal.api.history.v1;
type History = proto.temporal.api.history.v1.IHistory;

/** A history as the JSON text of a fixture file. */
export function historyToJson(history: History): string {
  const object = History.toObject(History.fromObject(history), {
    enums: String,
    longs: String,
    bytes: String,
  });
  return `${JSON.stringify(object, null, 1)}\n`;
}

/** A fixture file's JSON text as a history for Worker.runReplayHistories. */
export function historyFromJson(text: string): History {
  const parsed = JSON.parse(text) as { events?: unknown };
  if (!Array.isArray(parsed.events) || parsed.events.length === 0) {
    throw new Error('not a workflow history: expected a non-empty "events" array');
  }
  return History.fromObject(parsed);
}

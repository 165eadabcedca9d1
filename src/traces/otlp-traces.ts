/**
 * Spans of the publish runs, exported over OTLP/HTTP with the JSON encoding (OpenTelemetry
 * protocol specification, "OTLP/HTTP": `POST …/v1/traces`, `application/json`, trace and span
 * ids as hex strings, times as nanosecond strings). Written here rather than with the
 * OpenTelemetry SDK: the gate makes a handful of spans per run, and the protocol is a JSON body.
 *
 * One run is one trace, whose id is derived from the run (workflow id and run id): whichever
 * worker runs a step or an activity of it puts its span in the same trace, under the same root,
 * without passing a context around.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A finished span, as the exporter sends it. */
export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server. */
  kind: 1 | 2;
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status: ok, or an error with its code as the message. */
  error?: string;
}

/** The trace id of a run and the span id of its root span: the same in every worker. */
export function runTrace(workflowId: string, runId: string): { traceId: string; rootSpanId: string } {
  const hash = createHash('sha256').update(`${workflowId}\n${runId}`).digest('hex');
  return { traceId: hash.slice(0, 32), rootSpanId: hash.slice(32, 48) };
}

/** A fresh span id. */
export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

function attributeValue(value: string | number | boolean) {
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

const attributesOf = (attributes: Record<string, string | number | boolean>) =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: attributeValue(value) }));

/** The body of one export: ExportTraceServiceRequest in OTLP's JSON encoding. */
export function exportRequest(service: string, spans: readonly Span[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributesOf({ 'service.name': service }) },
        scopeSpans: [
          {
            scope: { name: 'slsa-gate' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(Math.max(s.startMs, s.endMs)),
              attributes: attributesOf(s.attributes),
              status: s.error === undefined ? { code: 1 } : { code: 2, message: s.error },
            })),
          },
        ],
      },
    ],
  };
}

/** Spans past this many waiting for an export are dropped: a collector that is down costs no memory. */
const MAX_QUEUED = 2048;
const BATCH = 512;

/**
 * Batches finished spans and posts them to an OTLP/HTTP traces endpoint every `intervalMs`
 * (or at BATCH spans). An export that fails is dropped and reported once per failure streak:
 * traces are for looking, never a reason for a publish to wait or fail.
 */
export class OtlpTraceExporter {
  readonly #queue: Span[] = [];
  readonly #timer: NodeJS.Timeout;
  #inFlight: Promise<void> = Promise.resolve();
  #failing = false;
  dropped = 0;

  constructor(
    readonly endpoint: string,
    readonly service: string,
    private readonly warn: (message: string, meta: Record<string, unknown>) => void,
    intervalMs = 2000,
  ) {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** Queues a finished span. */
  add(span: Span): void {
    if (this.#queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= BATCH) void this.flush();
  }

  /** Sends what is queued (one export at a time); resolves when it is sent or dropped. */
  flush(): Promise<void> {
    this.#inFlight = this.#inFlight.then(async () => {
      while (this.#queue.length > 0) await this.#post(this.#queue.splice(0, BATCH));
    });
    return this.#inFlight;
  }

  async #post(spans: Span[]): Promise<void> {
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(exportRequest(this.service, spans)),
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.#failing = false;
    } catch (err) {
      this.dropped += spans.length;
      if (!this.#failing)
        this.warn('trace export failed; spans dropped until it works again', {
          endpoint: this.endpoint,
          error: err instanceof Error ? err.message : String(err),
        });
      this.#failing = true;
    }
  }

  /** Stops the timer after a last export. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { exportRequest, newSpanId, OtlpTraceExporter, runTrace } from '../../../src/traces/otlp-traces.ts';

test('a run has one trace id and one root span id, the same in every worker', () => {
  const a = runTrace('publish:r/app@sha256:1', 'run-1');
  assert.deepEqual(a, runTrace('publish:r/app@sha256:1', 'run-1'));
  assert.match(a.traceId, /^[0-9a-f]{32}$/);
  assert.match(a.rootSpanId, /^[0-9a-f]{16}$/);
  assert.notEqual(runTrace('publish:r/app@sha256:1', 'run-2').traceId, a.traceId);
  assert.match(newSpanId(), /^[0-9a-f]{16}$/);
});

test('OTLP JSON encoding: hex ids, nanosecond strings, typed attributes, status', () => {
  const body = exportRequest('svc', [
    {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      parentSpanId: 'c'.repeat(16),
      name: 'pinCandidate',
      kind: 1,
      startMs: 1_700_000_000_000.5,
      endMs: 1_700_000_000_010,
      attributes: { s: 'x', i: 3, d: 1.5, b: true },
      error: 'REGISTRY_ERROR',
    },
  ]);
  const [resource] = body.resourceSpans;
  assert.deepEqual(resource!.resource.attributes, [{ key: 'service.name', value: { stringValue: 'svc' } }]);
  const span = resource!.scopeSpans[0]!.spans[0]!;
  assert.equal(span.startTimeUnixNano, '1700000000000500000');
  assert.equal(span.endTimeUnixNano, '1700000000010000000');
  assert.deepEqual(span.attributes, [
    { key: 's', value: { stringValue: 'x' } },
    { key: 'i', value: { intValue: '3' } },
    { key: 'd', value: { doubleValue: 1.5 } },
    { key: 'b', value: { boolValue: true } },
  ]);
  assert.deepEqual(span.status, { code: 2, message: 'REGISTRY_ERROR' });
  assert.equal(span.parentSpanId, 'c'.repeat(16));
});

test('a collector that is down costs dropped spans and one warning, never an error', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const warnings: string[] = [];
  const exporter = new OtlpTraceExporter(`http://127.0.0.1:${port}/v1/traces`, 'svc', (m) =>
    warnings.push(m),
  );
  const span = {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    name: 'x',
    kind: 1 as const,
    startMs: 0,
    endMs: 1,
    attributes: {},
  };
  exporter.add(span);
  await exporter.flush();
  exporter.add(span);
  await exporter.close();
  assert.equal(exporter.dropped, 2);
  assert.equal(warnings.length, 1);
});

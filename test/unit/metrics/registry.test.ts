import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SERIES, MetricsRegistry } from '../../../src/metrics/registry.ts';
import { parseExposition } from '../../helpers/prometheus-text.ts';

test('counters and gauges: HELP and TYPE once per family, one sample per label set', async () => {
  const registry = new MetricsRegistry();
  const decisions = registry.counter('gate_decisions_total', 'Decisions.', ['outcome', 'code']);
  const waiting = registry.gauge('gate_waiting', 'Waiting.');
  decisions.inc({ outcome: 'FAILED', code: 'BUILDER_UNTRUSTED' });
  decisions.inc({ outcome: 'FAILED', code: 'BUILDER_UNTRUSTED' });
  decisions.inc({ outcome: 'PASSED', code: '' }, 3);
  waiting.set({}, 7);
  const text = await registry.exposition();
  assert.match(text, /^# HELP gate_decisions_total Decisions\.\n# TYPE gate_decisions_total counter\n/m);
  assert.match(text, /\ngate_decisions_total\{outcome="FAILED",code="BUILDER_UNTRUSTED"\} 2\n/);
  assert.match(text, /\ngate_waiting 7\n/);
  const parsed = parseExposition(text);
  assert.equal(parsed.types.get('gate_decisions_total'), 'counter');
  assert.equal(parsed.types.get('gate_waiting'), 'gauge');
  assert.equal(parsed.value('gate_decisions_total', { outcome: 'PASSED', code: '' }), 3);
  assert.equal(parsed.value('gate_waiting'), 7);
  assert.ok(text.endsWith('\n'));
});

test('label values and HELP are escaped as the text format says', async () => {
  const registry = new MetricsRegistry();
  const c = registry.counter('odd_total', 'Help with a \\ backslash\nand a line "quoted".', ['v']);
  const odd = 'a "quoted" \\ back\nslash';
  c.inc({ v: odd });
  const text = await registry.exposition();
  assert.ok(text.includes('# HELP odd_total Help with a \\\\ backslash\\nand a line "quoted".\n'));
  assert.ok(text.includes('odd_total{v="a \\"quoted\\" \\\\ back\\nslash"} 1\n'));
  // Every sample is one line: the line feed inside the value did not break it.
  const parsed = parseExposition(text);
  assert.equal(parsed.value('odd_total', { v: odd }), 1);
  assert.equal(parsed.helps.get('odd_total'), 'Help with a \\ backslash\nand a line "quoted".');
});

test('histograms: cumulative buckets up to +Inf, then _sum and _count', async () => {
  const registry = new MetricsRegistry();
  const h = registry.histogram('step_seconds', 'Steps.', ['step'], [0.1, 1, 10]);
  for (const v of [0.05, 0.1, 0.5, 2, 20, 30]) h.observe({ step: 'pin' }, v);
  h.observe({ step: 'fetch' }, 1);
  const parsed = parseExposition(await registry.exposition());
  const bucket = (le: string) => parsed.value('step_seconds_bucket', { step: 'pin', le });
  // An observation equal to a bound counts in that bucket (le: less than or equal).
  assert.deepEqual(['0.1', '1', '10', '+Inf'].map(bucket), [2, 3, 4, 6]);
  assert.equal(parsed.value('step_seconds_count', { step: 'pin' }), 6);
  assert.ok(Math.abs(parsed.value('step_seconds_sum', { step: 'pin' })! - 52.65) < 1e-9);
  assert.equal(parsed.value('step_seconds_bucket', { step: 'fetch', le: '0.1' }), 0);
  assert.equal(parsed.value('step_seconds_bucket', { step: 'fetch', le: '1' }), 1);
});

test('a family stops taking new series at MAX_SERIES and counts what it dropped', async () => {
  const registry = new MetricsRegistry();
  const c = registry.counter('many_total', 'Many.', ['id']);
  for (let i = 0; i < MAX_SERIES + 5; i++) c.inc({ id: String(i) });
  c.inc({ id: '0' });
  const parsed = parseExposition(await registry.exposition());
  assert.equal(parsed.find('many_total').length, MAX_SERIES);
  assert.equal(parsed.value('many_total', { id: '0' }), 2);
  assert.equal(parsed.value('slsa_gate_metrics_series_dropped_total', { metric: 'many_total' }), 5);
});

test('collectors run before each exposition; a failing one does not stop the scrape', async () => {
  const registry = new MetricsRegistry();
  const g = registry.gauge('read_at_scrape', 'Read at scrape.');
  let reads = 0;
  registry.onCollect(async () => {
    reads++;
    g.set({}, reads);
  });
  registry.onCollect(async () => {
    throw new Error('store down');
  });
  assert.equal(parseExposition(await registry.exposition()).value('read_at_scrape'), 1);
  assert.equal(parseExposition(await registry.exposition()).value('read_at_scrape'), 2);
});

test('bad names, a counter going down and a family registered twice are programming errors', () => {
  const registry = new MetricsRegistry();
  assert.throws(() => registry.counter('bad-name', 'x'));
  assert.throws(() => registry.counter('ok_total', 'x', ['le']));
  assert.throws(() => registry.histogram('h', 'x', [], [1, 1]));
  const c = registry.counter('ok_total', 'x');
  assert.throws(() => c.inc({}, -1));
  assert.throws(() => registry.gauge('ok_total', 'x'));
});

test('the reader refuses what a scraper refuses', () => {
  assert.throws(() => parseExposition('x 1\n'), /before its TYPE/);
  assert.throws(() => parseExposition('# TYPE x counter\n# TYPE x counter\n'), /twice/);
  assert.throws(() => parseExposition('# TYPE x counter\nx{a="b} 1\n'), /bad/);
  assert.throws(() => parseExposition('# TYPE x counter\nx one\n'), /bad value/);
  assert.throws(
    () =>
      parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
    /cumulative/,
  );
  assert.throws(
    () =>
      parseExposition('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'),
    /_count/,
  );
});

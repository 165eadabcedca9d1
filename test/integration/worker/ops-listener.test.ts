/** The operational listeners (`/healthz`, `/metrics`) on loopback: one per address. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startOpsListeners } from '../../../src/metrics/ops-listener.ts';
import { MetricsRegistry } from '../../../src/metrics/registry.ts';
import { freePort } from '../../helpers/gate-worker.ts';
import { parseExposition } from '../../helpers/prometheus-text.ts';

const registry = new MetricsRegistry();
registry.gauge('ops_test_value', 'A value.').set({}, 42);

test('health and metrics asked on one address share one listener that serves both', async () => {
  const port = await freePort();
  let state = 'INITIALIZED';
  const listen = { host: '127.0.0.1', port };
  const listeners = await startOpsListeners([
    { variable: 'SLSA_GATE_HEALTH_LISTEN', listen, routes: { health: () => state } },
    { variable: 'SLSA_GATE_METRICS_LISTEN', listen, routes: { metrics: registry } },
  ]);
  try {
    assert.equal(listeners.length, 1);
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 503);
    state = 'RUNNING';
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'RUNNING' });
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(parseExposition(await metrics.text()).value('ops_test_value'), 42);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${base}/other`)).status, 404);
  } finally {
    for (const l of listeners) l.server.close();
  }
});

test('different addresses get a listener each, serving only their own route', async () => {
  const listeners = await startOpsListeners([
    {
      variable: 'SLSA_GATE_HEALTH_LISTEN',
      listen: { host: '127.0.0.1', port: 0 },
      routes: { health: () => 'RUNNING' },
    },
    {
      variable: 'SLSA_GATE_METRICS_LISTEN',
      listen: { host: '127.0.0.1', port: 0 },
      routes: { metrics: registry },
    },
  ]);
  try {
    assert.equal(listeners.length, 2);
    const [health, metrics] = listeners.map((l) => l.urls);
    assert.equal((await fetch(health!['/healthz']!)).status, 200);
    assert.equal((await fetch(health!['/healthz']!.replace('/healthz', '/metrics'))).status, 404);
    assert.equal((await fetch(metrics!['/metrics']!)).status, 200);
    assert.equal((await fetch(metrics!['/metrics']!.replace('/metrics', '/healthz'))).status, 404);
  } finally {
    for (const l of listeners) l.server.close();
  }
});

test('an address that cannot be listened on is CONFIG_INVALID naming the variable', async () => {
  const taken = await startOpsListeners([
    {
      variable: 'SLSA_GATE_METRICS_LISTEN',
      listen: { host: '127.0.0.1', port: 0 },
      routes: { metrics: registry },
    },
  ]);
  const port = Number(new URL(taken[0]!.urls['/metrics']!).port);
  try {
    await assert.rejects(
      startOpsListeners([
        {
          variable: 'SLSA_GATE_HEALTH_LISTEN',
          listen: { host: '127.0.0.1', port },
          routes: { health: () => 'RUNNING' },
        },
      ]),
      (err: Error & { code?: string }) =>
        err.code === 'CONFIG_INVALID' && /SLSA_GATE_HEALTH_LISTEN/.test(err.message),
    );
  } finally {
    for (const l of taken) l.server.close();
  }
});

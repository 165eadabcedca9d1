/** The port variables of scripts/services.sh reach every process through src/config/config.ts (docs/operations.md#configuration). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  loadArchiveSettings,
  loadConfig,
  loadRegistrySettings,
  loadTemporalUiSettings,
} from '../../../src/config/config.ts';
import { workflowUiUrl } from '../../../src/config/temporal-client.ts';

const ports = {
  TEMPORAL_PORT: '27233',
  TEMPORAL_UI_PORT: '28233',
  MONGO_PORT: '47017',
  REGISTRY_PORT: '25000',
};

test('the port variables alone give the Temporal, UI, store and registry addresses', () => {
  const config = loadConfig({ ...ports, HOME: '/nonexistent' });
  assert.equal(config.temporalAddress, '127.0.0.1:27233');
  assert.equal(config.temporal.connectionOptions().address, '127.0.0.1:27233');
  assert.equal(config.mongoUri, 'mongodb://127.0.0.1:47017/');
  assert.deepEqual(config.insecureRegistries, ['127.0.0.1:25000', 'localhost:25000']);
  assert.match(workflowUiUrl(config, 'wf'), /^http:\/\/127\.0\.0\.1:28233\/namespaces\//);
  assert.equal(loadArchiveSettings({}, ports).mongoUri, 'mongodb://127.0.0.1:47017/');
  assert.equal(loadTemporalUiSettings(ports).temporalUiUrl, 'http://127.0.0.1:28233');
  assert.deepEqual(loadRegistrySettings(ports).insecureRegistries, ['127.0.0.1:25000', 'localhost:25000']);
});

test('a full address wins over its port variable; a bad port is CONFIG_INVALID naming the variable', () => {
  const config = loadConfig({
    ...ports,
    HOME: '/nonexistent',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    MONGODB_URI: 'mongodb://db.internal:27017/',
    TEMPORAL_UI_URL: 'https://temporal-ui.internal',
  });
  assert.equal(config.temporalAddress, 'temporal.internal:7233');
  assert.equal(config.mongoUri, 'mongodb://db.internal:27017/');
  assert.equal(config.temporalUiUrl, 'https://temporal-ui.internal');
  assert.throws(() => loadConfig({ HOME: '/nonexistent', MONGO_PORT: '70000' }), {
    code: 'CONFIG_INVALID',
    message: /MONGO_PORT/,
  });
  assert.throws(() => loadConfig({ HOME: '/nonexistent', TEMPORAL_PORT: '12ab' }), {
    code: 'CONFIG_INVALID',
    message: /TEMPORAL_PORT/,
  });
});

/**
 * The configured npm registries (SLSA_GATE_NPM_REGISTRIES) are named by host in requests and
 * decisions, so two registries on one host cannot both be reached: a repository manager that
 * serves staging and release npm repositories under two paths of one host (the layout of
 * Artifactory and Nexus) would have one of them answer for both, and the gate would read the
 * candidate from, or "publish" it to, the wrong one. Such a configuration is refused at start.
 * The URLs here are the operator's (no attacker material): what a same-host layout looks like.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { npmRegistryClients } from '../../../src/config/registry-clients.ts';
import { isGateError } from '../../../src/core/errors.ts';

test('each configured npm registry is reached by its own host', () => {
  const npm = npmRegistryClients({
    npmRegistries: ['http://127.0.0.1:4873/', 'http://127.0.0.1:4874/'],
  });
  assert.equal(npm('127.0.0.1:4873').base.href, 'http://127.0.0.1:4873/');
  assert.equal(npm('127.0.0.1:4874').base.href, 'http://127.0.0.1:4874/');
});

test('two npm registries on one host are refused (CONFIG_INVALID), never one answering for both', () => {
  assert.throws(
    () =>
      npmRegistryClients({
        npmRegistries: [
          'https://repo.example.com/api/npm/npm-staging/',
          'https://repo.example.com/api/npm/npm-release/',
        ],
      }),
    (err) =>
      isGateError(err) &&
      err.code === 'CONFIG_INVALID' &&
      /repo\.example\.com/.test(err.message) &&
      /npm-staging/.test(err.message) &&
      /npm-release/.test(err.message),
  );
});

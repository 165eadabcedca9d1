import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges } from '../../../src/registry/auth.ts';
import { parseRetryAfter } from '../../../src/registry/transport.ts';

test('WWW-Authenticate challenges are parsed with their parameters', () => {
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
    { scheme: 'basic', params: { realm: 'Registry Realm' } },
  ]);
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:org/app:pull,push"',
    ),
    [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry.example.com',
          scope: 'repository:org/app:pull,push',
        },
      },
    ],
  );
  assert.deepEqual(parseChallenges('Basic realm="a", Bearer realm="b", error=invalid_token'), [
    { scheme: 'basic', params: { realm: 'a' } },
    { scheme: 'bearer', params: { realm: 'b', error: 'invalid_token' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="with \\"quotes\\""'), [
    { scheme: 'basic', params: { realm: 'with "quotes"' } },
  ]);
  assert.deepEqual(parseChallenges(''), []);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter('soon'), undefined);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
});

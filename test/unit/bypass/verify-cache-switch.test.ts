/**
 * The bypass, corpus and mutation tests run twice in `npm test`: with the verification caches
 * on, and again with SLSA_GATE_VERIFY_CACHE=off (scripts/test.sh). This checks the second run
 * really has them off (and the first on): a harness that silently left them on would make the
 * "caches off" run a copy of the first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyCachesEnabled } from '../../../src/core/verify/verify-cache.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';

test('the verification caches are as SLSA_GATE_VERIFY_CACHE says, before and after trust material is loaded', () => {
  const expected = process.env.SLSA_GATE_VERIFY_CACHE !== 'off';
  assert.equal(verifyCachesEnabled(), expected);
  loadTrustMaterial();
  assert.equal(verifyCachesEnabled(), expected);
});

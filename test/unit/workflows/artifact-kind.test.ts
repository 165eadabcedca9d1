import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactKindOf, PublishRequestSchema } from '../../../src/workflows/contract.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const request = (candidate: Record<string, unknown>) => ({
  candidate: { registry: '127.0.0.1:5000', repository: 'staging/app', digest, mediaType: 'x', ...candidate },
  releaseRegistry: '127.0.0.1:5000',
  releaseRepository: 'release/app',
  requester: 'ci',
});

test('a request without a kind is a container image, as every request was before kinds existed', () => {
  const parsed = PublishRequestSchema.parse(request({}));
  assert.equal(parsed.candidate.artifactKind, undefined, 'nothing is added to what was asked');
  assert.equal(artifactKindOf(parsed.candidate), 'container-image');
});

test('the kind is one of the known kinds; any other is refused by the request schema', () => {
  assert.equal(
    artifactKindOf(PublishRequestSchema.parse(request({ artifactKind: 'npm-package' })).candidate),
    'npm-package',
  );
  assert.equal(PublishRequestSchema.safeParse(request({ artifactKind: 'rpm' })).success, false);
});

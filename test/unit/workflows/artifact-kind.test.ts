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
    artifactKindOf(PublishRequestSchema.parse(request({ artifactKind: 'oci-blob' })).candidate),
    'oci-blob',
  );
  assert.equal(PublishRequestSchema.safeParse(request({ artifactKind: 'rpm' })).success, false);
});

const npmRequest = (over: Record<string, unknown> = {}) => ({
  candidate: {
    artifactKind: 'npm-package',
    registry: '127.0.0.1:4873',
    repository: 'scope/tool',
    digest,
    mediaType: 'application/gzip',
    tag: '1.2.3',
    package: { name: '@scope/tool', version: '1.2.3', sha512: 'b'.repeat(128) },
  },
  releaseRegistry: '127.0.0.1:4874',
  releaseRepository: 'scope/tool',
  requester: 'ci',
  ...over,
});

test('an npm package candidate names its package, and is released under its own name and version', () => {
  assert.equal(PublishRequestSchema.safeParse(npmRequest()).success, true);
  const { package: _package, ...withoutPackage } = npmRequest().candidate;
  assert.equal(PublishRequestSchema.safeParse(npmRequest({ candidate: withoutPackage })).success, false);
  assert.equal(PublishRequestSchema.safeParse(npmRequest({ releaseRepository: 'other' })).success, false);
  assert.equal(PublishRequestSchema.safeParse(npmRequest({ releaseTag: '9.9.9' })).success, false);
  const renamed = { ...npmRequest().candidate, repository: 'other/tool' };
  assert.equal(PublishRequestSchema.safeParse(npmRequest({ candidate: renamed })).success, false);
});

/**
 * The shape a staged file artifact must have before the gate publishes it
 * (src/registry/file-artifact.ts, docs/policy.md#files). Each attacker manifest is the
 * gate's own manifest for a file, edited in one field as someone with push access to staging
 * would edit it: each would publish (its first layer is the verified file) if its guard were gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256Digest } from '../../../src/registry/digest.ts';
import {
  buildFileArtifact,
  FILE_ARTIFACT_TYPE,
  fileLayerOf,
  TITLE_ANNOTATION,
} from '../../../src/registry/file-artifact.ts';
import { EMPTY_CONFIG, MEDIA_TYPES } from '../../../src/registry/oci-manifest.ts';
import { code as codeOf } from '../../helpers/error-code.ts';

const file = new TextEncoder().encode('#!/bin/sh\necho release\n');
const built = buildFileArtifact(file, { title: 'tool-linux-amd64', mediaType: 'application/x-sh' });
const LIMIT = 1 << 20;

/** The gate's manifest for `file`, with `edit` applied, as bytes. */
function edited(edit: (m: Record<string, unknown>) => void): Uint8Array {
  const manifest = JSON.parse(new TextDecoder().decode(built.manifest)) as Record<string, unknown>;
  edit(manifest);
  return new TextEncoder().encode(JSON.stringify(manifest));
}

const layers = (m: Record<string, unknown>) => m.layers as Array<Record<string, unknown>>;

test('the built artifact is an OCI 1.1 artifact: artifactType, empty config, one titled layer that is the file', () => {
  const manifest = JSON.parse(new TextDecoder().decode(built.manifest));
  assert.equal(built.digest, sha256Digest(built.manifest));
  assert.equal(manifest.mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(manifest.artifactType, FILE_ARTIFACT_TYPE);
  assert.deepEqual(manifest.config, {
    mediaType: EMPTY_CONFIG.mediaType,
    digest: EMPTY_CONFIG.digest,
    size: 2,
  });
  assert.equal(sha256Digest(EMPTY_CONFIG.bytes), EMPTY_CONFIG.digest);
  assert.deepEqual(manifest.layers, [
    {
      mediaType: 'application/x-sh',
      digest: sha256Digest(file),
      size: file.byteLength,
      annotations: { [TITLE_ANNOTATION]: 'tool-linux-amd64' },
    },
  ]);
  const layer = fileLayerOf(built.manifest, MEDIA_TYPES.ociManifest, 'built', LIMIT);
  assert.equal(layer.digest, sha256Digest(file));
  assert.equal(layer.title, 'tool-linux-amd64');
  // Deterministic: staging the same file again names the same candidate.
  assert.equal(
    buildFileArtifact(file, { title: 'tool-linux-amd64', mediaType: 'application/x-sh' }).digest,
    built.digest,
  );
});

const attacks: Array<[string, Uint8Array, string, string?]> = [
  [
    'a second layer (a script riding along with the verified file)',
    edited((m) => layers(m).push({ ...layers(m)[0], digest: sha256Digest(new Uint8Array([1])), size: 1 })),
    'ARTIFACT_INVALID',
  ],
  ['no layer', edited((m) => (m.layers = [])), 'ARTIFACT_INVALID'],
  [
    'another artifactType (a Helm chart)',
    edited((m) => (m.artifactType = 'application/vnd.cncf.helm.config.v1+json')),
    'ARTIFACT_INVALID',
  ],
  ['no artifactType (an image)', edited((m) => delete m.artifactType), 'ARTIFACT_INVALID'],
  [
    'a config blob besides the file',
    edited(
      (m) =>
        (m.config = { mediaType: MEDIA_TYPES.ociConfig, digest: sha256Digest(file), size: file.byteLength }),
    ),
    'ARTIFACT_INVALID',
  ],
  [
    'a subject (published, it would list as a referrer of a release image)',
    edited((m) => (m.subject = { mediaType: MEDIA_TYPES.ociManifest, digest: built.digest, size: 1 })),
    'ARTIFACT_INVALID',
  ],
  [
    'a title that leaves the directory',
    edited((m) => (layers(m)[0]!.annotations = { [TITLE_ANNOTATION]: '../../.bashrc' })),
    'ARTIFACT_INVALID',
  ],
  ['no title', edited((m) => delete layers(m)[0]!.annotations), 'ARTIFACT_INVALID'],
  [
    'a sha512 layer digest',
    edited((m) => (layers(m)[0]!.digest = `sha512:${'a'.repeat(128)}`)),
    'ARTIFACT_INVALID',
  ],
  ['a file larger than the gate copies', edited((m) => (layers(m)[0]!.size = LIMIT + 1)), 'LIMIT_EXCEEDED'],
  ['a Docker manifest media type', built.manifest, 'ARTIFACT_INVALID', MEDIA_TYPES.dockerManifest],
];

for (const [what, bytes, expected, mediaType] of attacks) {
  test(`a staged file artifact with ${what} is refused (${expected})`, () => {
    assert.equal(
      codeOf(() => fileLayerOf(bytes, mediaType ?? MEDIA_TYPES.ociManifest, 'staged', LIMIT)),
      expected,
    );
  });
}

test('the CLI refuses a file name or media type it would stage wrongly', () => {
  assert.equal(
    codeOf(() => buildFileArtifact(file, { title: '..' })),
    'INPUT_INVALID',
  );
  assert.equal(
    codeOf(() => buildFileArtifact(file, { title: 'a/b' })),
    'INPUT_INVALID',
  );
  assert.equal(
    codeOf(() => buildFileArtifact(file, { title: 'x', mediaType: 'text' })),
    'INPUT_INVALID',
  );
});

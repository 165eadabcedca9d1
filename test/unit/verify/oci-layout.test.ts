import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { GateError, type ErrorCode } from '../../../src/core/errors.ts';
import { loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';
import { loadOciLayout } from '../../../src/loaders/oci-layout-dir.ts';
import { verifyAttestations } from '../../../src/core/verify/verify-attestations.ts';
import { bindStatement } from '../../../src/core/verify/statement.ts';

const CORPUS = join(import.meta.dirname, '../../fixtures/corpus');
const CASE = join(CORPUS, 'slsa-verifier/gha-generic-container-v2.1.0-valid');
const LAYOUT = join(CASE, 'oci-layout');
const IMAGE = readFileSync(join(CASE, 'image.digest'), 'utf8').trim();
const ATTS_MANIFEST = 'sha256:21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe';
const DSSE_LAYER = 'sha256:e163b472f2e5d66e5a2a45e26e020c51a0d2da7dc8b567b31fc2ebfd33dbc33a';

const verifier = new Verifier(
  toTrustMaterial(
    TrustedRoot.fromJSON(
      JSON.parse(readFileSync(join(CORPUS, '_trust/sigstore-public-good-trusted_root.json'), 'utf8')),
    ),
  ),
  { tlogThreshold: 1, ctlogThreshold: 1, tsaThreshold: 0 },
);

function assertCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GateError, `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

// Mutated layouts are copies of the corpus layout made by these tests, edited as each test says.
const scratch = mkdtempSync(join(tmpdir(), 'slsa-gate-oci-layout-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let copies = 0;

function copyLayout(): string {
  const dir = join(scratch, String(copies++));
  cpSync(LAYOUT, dir, { recursive: true });
  return dir;
}

function blobPath(dir: string, digest: string): string {
  return join(dir, 'blobs/sha256', digest.slice('sha256:'.length));
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Writes bytes as a blob and returns its descriptor fields. */
function writeBlob(dir: string, bytes: Buffer): { digest: string; size: number } {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  writeFileSync(blobPath(dir, digest), bytes);
  return { digest, size: bytes.length };
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** Rewrites the attestation manifest through `edit` and points index.json at the new blob. */
function editAttestationManifest(dir: string, edit: (manifest: { layers: Descriptor[] }) => void): void {
  const manifest = readJson<{ layers: Descriptor[] }>(blobPath(dir, ATTS_MANIFEST));
  edit(manifest);
  const written = writeBlob(dir, Buffer.from(JSON.stringify(manifest)));
  const index = readJson<{ manifests: Descriptor[] }>(join(dir, 'index.json'));
  const entry = index.manifests.find((m) => m.digest === ATTS_MANIFEST)!;
  Object.assign(entry, written);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

test('gha-generic-container-v2.1.0-valid: the cosign layer becomes a v0.1 bundle that sigstore-js verifies', () => {
  const inputs = loadOciLayout(LAYOUT);
  assert.equal(inputs.length, 1);
  const [input] = inputs;
  assert.ok(input !== undefined && input.form === 'bundle');
  assert.equal(input.container, 'oci-layout');
  assert.deepEqual(Buffer.from(input.raw), readFileSync(blobPath(LAYOUT, DSSE_LAYER)));
  assert.equal(input.origin, blobPath(LAYOUT, DSSE_LAYER));

  const json = input.json as {
    mediaType: string;
    verificationMaterial: { tlogEntries: { kindVersion: unknown; logIndex: string }[] };
    dsseEnvelope: { payload: string; payloadType: string };
  };
  assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle+json;version=0.1');
  assert.deepEqual(json.verificationMaterial.tlogEntries[0]?.kindVersion, { kind: 'dsse', version: '0.0.1' });
  assert.equal(json.verificationMaterial.tlogEntries[0]?.logIndex, '174304112');

  const signer = verifier.verify(toSignedEntity(bundleFromJSON(json)));
  assert.match(signer.identity?.subjectAlternativeName ?? '', /^https:\/\/github\.com\/slsa-framework\//);

  const { predicateType } = bindStatement(
    json.dsseEnvelope.payloadType,
    Buffer.from(json.dsseEnvelope.payload, 'base64'),
    { digests: { sha256: IMAGE.slice('sha256:'.length) } },
    input.origin,
  );
  assert.equal(predicateType, 'https://slsa.dev/provenance/v0.2');
});

test('the image digest, when given, must be in the layout', () => {
  assert.equal(loadOciLayout(LAYOUT, IMAGE).length, 1);
  assertCode(() => loadOciLayout(LAYOUT, `sha256:${'0'.repeat(64)}`), 'NO_PROVENANCE');
});

test('an edited signed entry timestamp no longer verifies once converted', () => {
  const dir = copyLayout();
  editAttestationManifest(dir, (manifest) => {
    const annotations = manifest.layers[0]!.annotations!;
    const rekor = JSON.parse(annotations['dev.sigstore.cosign/bundle']!) as { Payload: { logIndex: number } };
    rekor.Payload.logIndex += 1;
    annotations['dev.sigstore.cosign/bundle'] = JSON.stringify(rekor);
  });
  const [input] = loadOciLayout(dir);
  assert.ok(input !== undefined && input.form === 'bundle');
  assert.throws(
    () => verifier.verify(toSignedEntity(bundleFromJSON(input.json))),
    (err: unknown) => (err as { code?: string }).code === 'TLOG_INCLUSION_PROMISE_ERROR',
  );
});

test('a certificate-signed layer without the Rekor annotation fails closed', () => {
  const dir = copyLayout();
  editAttestationManifest(dir, (manifest) => {
    delete manifest.layers[0]!.annotations!['dev.sigstore.cosign/bundle'];
  });
  assertCode(() => loadOciLayout(dir), 'TLOG_MISSING');
});

test('a layer without certificate is a key-signed DSSE envelope', () => {
  const dir = copyLayout();
  editAttestationManifest(dir, (manifest) => {
    delete manifest.layers[0]!.annotations!['dev.sigstore.cosign/certificate'];
  });
  const [input] = loadOciLayout(dir);
  assert.equal(input?.form, 'dsse');
});

test('malformed annotations are malformed input', () => {
  const edits: ((a: Record<string, string>) => void)[] = [
    (a) => {
      a['dev.sigstore.cosign/bundle'] = '{"SignedEntryTimestamp":"x"}';
    },
    (a) => {
      const rekor = JSON.parse(a['dev.sigstore.cosign/bundle']!) as { Payload: { logIndex: number } };
      rekor.Payload.logIndex = -1;
      a['dev.sigstore.cosign/bundle'] = JSON.stringify(rekor);
    },
    (a) => {
      a['dev.sigstore.cosign/certificate'] = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    },
  ];
  for (const edit of edits) {
    const dir = copyLayout();
    editAttestationManifest(dir, (manifest) => edit(manifest.layers[0]!.annotations!));
    assertCode(() => loadOciLayout(dir), 'BUNDLE_MALFORMED');
  }
});

test('a blob whose content differs from its digest is refused', () => {
  const dir = copyLayout();
  const path = blobPath(dir, DSSE_LAYER);
  const bytes = readFileSync(path);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 1, bytes.length - 3);
  writeFileSync(path, bytes);
  assertCode(() => loadOciLayout(dir), 'DIGEST_MISMATCH');
});

test('sizes are capped before reading: a huge descriptor, too many layers', () => {
  const big = copyLayout();
  editAttestationManifest(big, (manifest) => {
    manifest.layers[0]!.size = 100 << 20;
  });
  assertCode(() => loadOciLayout(big), 'LIMIT_EXCEEDED');

  const many = copyLayout();
  editAttestationManifest(many, (manifest) => {
    manifest.layers = Array.from({ length: 33 }, () => manifest.layers[0]!);
  });
  assertCode(() => loadOciLayout(many), 'LIMIT_EXCEEDED');
});

test('a layout without attestation manifest has no provenance; a directory without index.json is not a layout', () => {
  const dir = copyLayout();
  const index = readJson<{ manifests: Descriptor[] }>(join(dir, 'index.json'));
  index.manifests = index.manifests.filter((m) => m.digest !== ATTS_MANIFEST);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  assertCode(() => loadOciLayout(dir), 'NO_PROVENANCE');

  assertCode(() => loadOciLayout(join(dir, 'blobs')), 'INPUT_INVALID');
});

test('an attestation manifest found by its sha256-<hex>.att tag is read too', () => {
  const dir = copyLayout();
  const index = readJson<{ manifests: Descriptor[] }>(join(dir, 'index.json'));
  const entry = index.manifests.find((m) => m.digest === ATTS_MANIFEST)!;
  entry.annotations = { 'org.opencontainers.image.ref.name': `${IMAGE.replace(':', '-')}.att` };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  assert.equal(loadOciLayout(dir, IMAGE).length, 1);
});

test('through the dispatcher: verified as a v0.1 bundle once policy allows a signed entry timestamp alone', () => {
  const ctx = {
    artifact: { digests: { sha256: IMAGE.slice('sha256:'.length) } },
    trust: loadTrustMaterial({ trustedRoot: join(CORPUS, '_trust/sigstore-public-good-trusted_root.json') }),
  };
  const inputs = loadOciLayout(LAYOUT, IMAGE);
  assert.deepEqual(
    verifyAttestations(inputs, ctx).rejected.map((r) => r.code),
    ['TLOG_MISSING'],
  );
  const { verified } = verifyAttestations(inputs, { ...ctx, allowV01WithoutInclusionProof: true });
  assert.equal(verified.length, 1);
  assert.equal(verified[0]?.format, 'oci-layout');
  assert.equal(
    verified[0]?.signer.identity,
    'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0',
  );
});

/**
 * Bundle shape (sigstore-conformance `bundle-with-root-cert_fail` and
 * `trust-root-tlog-missing-validity-start_fail`): a v0.1/v0.2 bundle carrying the v0.3
 * `certificate` field, a chain that ships a root, and a trusted root whose log key has a
 * validity period without its start are each refused for that reason. Real corpus
 * bundles and the shipped public-good root are the base; each edit says how it was made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isGateError } from '../../../src/core/errors.ts';
import type { ArtifactRef } from '../../../src/core/model.ts';
import { verifySigstoreBundle } from '../../../src/core/verify/sigstore-bundle.ts';
import { DEFAULT_TRUSTED_ROOT, loadTrustMaterial } from '../../../src/loaders/trust-material-files.ts';

const CORPUS = fileURLToPath(new URL('../../fixtures/corpus/', import.meta.url));
const PUBLIC_GOOD = loadTrustMaterial();
const tmp = mkdtempSync(join(tmpdir(), 'bundle-shape-'));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;
function artifactOf(path: string): ArtifactRef {
  const bytes = readFileSync(path);
  return {
    digests: {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sha512: createHash('sha512').update(bytes).digest('hex'),
    },
  };
}
/** The code and detail path of what verifySigstoreBundle throws; undefined when it verifies. */
function outcome(bundle: Json, artifact?: ArtifactRef): { code: string; path?: unknown } | undefined {
  try {
    verifySigstoreBundle(
      { form: 'bundle', origin: 'bundle.json', raw: Buffer.from(JSON.stringify(bundle)), json: bundle },
      // Without an artifact: signatures and transparency only, as `verify --bundle-only`.
      artifact === undefined
        ? {
            artifact: { digests: { sha256: '' } },
            trust: PUBLIC_GOOD,
            signatureOnly: true,
            allowV01WithoutInclusionProof: true,
          }
        : { artifact, trust: PUBLIC_GOOD },
    );
    return undefined;
  } catch (err) {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    return { code: err.code, path: err.detail?.path };
  }
}

// Real v0.2 bundle (slsa-github-generator container-based builder), chain = [leaf].
const V02 = join(CORPUS, 'slsa-verifier/gha-container-based-v2.1.0-valid');
const v02 = readJson(join(V02, 'provenance.intoto.build.slsa'));
const v02Artifact = artifactOf(join(V02, 'artifact'));
// Real v0.1 bundle (slsa-verifier docker-based builder), chain = [leaf, intermediate, root];
// its corpus case is bundle-only (no artifact), so it is verified without one.
const v01 = readJson(join(CORPUS, 'slsa-verifier/bundle-v0.1-valid/bundle.sigstore.json'));

test('controls: the real v0.2 bundle and the real v0.1 bundle with the public-good root in its chain verify', () => {
  assert.equal(outcome(v02, v02Artifact), undefined);
  assert.equal(v01.verificationMaterial.x509CertificateChain.certificates.length, 3);
  assert.equal(outcome(v01), undefined);
});

test('a v0.2 (or v0.1) media type carrying the v0.3-only `certificate` field is BUNDLE_MALFORMED', () => {
  // Attacker-made: the real v0.2 bundle with its leaf moved from x509CertificateChain to
  // `certificate`, media type unchanged (sigstore-js reads the field whatever the version).
  const moved = structuredClone(v02);
  moved.verificationMaterial.certificate = moved.verificationMaterial.x509CertificateChain.certificates[0];
  delete moved.verificationMaterial.x509CertificateChain;
  assert.deepEqual(outcome(moved, v02Artifact), {
    code: 'BUNDLE_MALFORMED',
    path: '$.verificationMaterial.certificate',
  });
  const asV01 = structuredClone(moved);
  asV01.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
  assert.equal(outcome(asV01, v02Artifact)?.code, 'BUNDLE_MALFORMED');
});

test('a v0.2 chain that contains the root is BUNDLE_MALFORMED, naming the certificate', () => {
  // Attacker-made: the real v0.2 bundle with the public-good Fulcio root (from the shipped
  // trusted root) appended to its chain, as bundle-with-root-cert_fail does.
  const root = readJson(DEFAULT_TRUSTED_ROOT).certificateAuthorities.at(-1).certChain.certificates.at(-1);
  const withRoot = structuredClone(v02);
  withRoot.verificationMaterial.x509CertificateChain.certificates.push(root);
  assert.deepEqual(outcome(withRoot, v02Artifact), {
    code: 'BUNDLE_MALFORMED',
    path: '$.verificationMaterial.x509CertificateChain.certificates[1]',
  });
});

test('a v0.1 chain whose root is not the trusted root is BUNDLE_MALFORMED; a self-signed leaf is CERTIFICATE_ERROR', () => {
  // Attacker-made: a self-signed P-256 CA made with the openssl CLI, put in place of the
  // real root of the v0.1 bundle's chain (third certificate), and alone as the leaf.
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], {
    cwd: tmp,
  });
  const pem = execFileSync(
    'openssl',
    ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/O=sigstore.dev/CN=sigstore', '-days', '30'],
    { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  writeFileSync(join(tmp, 'ca.pem'), pem);
  const der = execFileSync('openssl', ['x509', '-in', 'ca.pem', '-outform', 'DER'], { cwd: tmp });
  const fake = { rawBytes: der.toString('base64') };

  const otherRoot = structuredClone(v01);
  otherRoot.verificationMaterial.x509CertificateChain.certificates[2] = fake;
  assert.deepEqual(outcome(otherRoot), {
    code: 'BUNDLE_MALFORMED',
    path: '$.verificationMaterial.x509CertificateChain.certificates[2]',
  });
  const rootAsLeaf = structuredClone(v01);
  rootAsLeaf.verificationMaterial.x509CertificateChain.certificates = [fake];
  assert.equal(outcome(rootAsLeaf)?.code, 'CERTIFICATE_ERROR');
});

test('a trusted root whose log key has validFor without start is CONFIG_INVALID; without validFor it loads', () => {
  // Attacker-made: the shipped public-good trusted root with tlogs[0].publicKey.validFor.start
  // deleted (end kept), as trust-root-tlog-missing-validity-start_fail does; and the same
  // for a ctlog key.
  for (const list of ['tlogs', 'ctlogs']) {
    const root = readJson(DEFAULT_TRUSTED_ROOT);
    root[list][0].publicKey.validFor = { end: '2099-01-01T00:00:00Z' };
    const file = join(tmp, `${list}-no-start.json`);
    writeFileSync(file, JSON.stringify(root));
    let caught: unknown;
    try {
      loadTrustMaterial({ trustedRoot: file });
    } catch (err) {
      caught = err;
    }
    assert.ok(isGateError(caught), `expected a GateError for ${list}`);
    assert.equal(caught.code, 'CONFIG_INVALID');
    assert.equal(caught.detail?.path, `$.${list}[0].publicKey.validFor.start`);
  }
  // validFor is optional (protobuf-specs PublicKey.valid_for): sigstore-js's own test roots
  // in the corpus omit it for their log keys, and they still load.
  const corpusRoot = join(CORPUS, 'sigstore-js/client-v0.3-dsse-cert-valid/trusted_root.json');
  assert.equal(readJson(corpusRoot).tlogs[0].publicKey.validFor, undefined);
  assert.match(loadTrustMaterial({ trustedRoot: corpusRoot }).rootName, /^trusted-root:sha256:/);
});

test("a Rekor v2 entry whose logIndex is not its inclusion proof's is TLOG_ERROR", () => {
  // Found by the mutation test: the real Rekor v2 bundle (sigstore-js test fixture) with the
  // entry's unsigned logIndex raised by one still verified, and the archive would record it.
  const dir = join(CORPUS, 'sigstore-js/verify-v0.3-dsse-rekor-v2-valid');
  const bundle = readJson(join(dir, 'bundle.sigstore.json'));
  const trust = loadTrustMaterial({ trustedRoot: join(dir, 'trusted_root.json') });
  const run = (b: Json): string | undefined => {
    try {
      verifySigstoreBundle(
        { form: 'bundle', origin: 'bundle.json', raw: Buffer.from(JSON.stringify(b)), json: b },
        { artifact: { digests: { sha256: '' } }, trust, signatureOnly: true },
      );
      return undefined;
    } catch (err) {
      assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
      return err.code;
    }
  };
  assert.equal(run(bundle), undefined);
  const moved = structuredClone(bundle);
  moved.verificationMaterial.tlogEntries[0].logIndex = String(
    Number(moved.verificationMaterial.tlogEntries[0].logIndex) + 1,
  );
  assert.equal(run(moved), 'TLOG_ERROR');
});

test('a certificate that is not strict DER is CERTIFICATE_ERROR', () => {
  // Found by the mutation test: the real v0.2 bundle's leaf with its outer SEQUENCE tag (0x30)
  // turned into a SET tag (0x31) still verified with sigstore-js's lenient ASN.1 reader; the
  // signed TBS part is unchanged, so only the encoding differs. Same for a v0.3 `certificate`.
  const lenient = structuredClone(v02);
  const leaf = Buffer.from(
    lenient.verificationMaterial.x509CertificateChain.certificates[0].rawBytes,
    'base64',
  );
  leaf[0] = 0x31;
  lenient.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = leaf.toString('base64');
  assert.deepEqual(outcome(lenient, v02Artifact), {
    code: 'CERTIFICATE_ERROR',
    path: '$.verificationMaterial.x509CertificateChain.certificates[0]',
  });
  // ...and trailing bytes after the certificate.
  const trailing = structuredClone(v02);
  trailing.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = Buffer.concat([
    Buffer.from(v02.verificationMaterial.x509CertificateChain.certificates[0].rawBytes, 'base64'),
    Buffer.from([0]),
  ]).toString('base64');
  assert.equal(outcome(trailing, v02Artifact)?.code, 'CERTIFICATE_ERROR');
});

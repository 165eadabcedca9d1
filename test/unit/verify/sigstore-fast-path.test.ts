/**
 * The verifier's fast path (src/core/verify/sigstore-fast-path.ts): the same results as
 * sigstore-js's own functions, one P-384 signature per cold keyless bundle, no certificate
 * re-encoded to be compared, and caches that never let through what the library refuses.
 *
 * Material: the corpus's real certificates, and bundles of a self-made Sigstore instance
 * (test/helpers/self-made-sigstore.ts: own CAs, CT log and transparency log, keys made per run).
 * Attacker material is made here by editing those bundles: a leaf swapped into another bundle,
 * a checkpoint whose signature byte is flipped, an SCT list with a flipped signature byte.
 */
import assert from 'node:assert/strict';
import { createHash, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { ASN1Obj, crypto as coreCrypto, EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import sctModule from '@sigstore/verify/dist/key/sct.js';
import { buildTrustMaterial } from '../../../src/core/trust/trust-material.ts';
import { loadAttestations } from '../../../src/core/verify/load-attestations.ts';
import { verifyAttestations } from '../../../src/core/verify/verify-attestations.ts';
import { library, precertificateTbs } from '../../../src/core/verify/sigstore-fast-path.ts';
import { setVerifyCaches, verifyCachesEnabled } from '../../../src/core/verify/verify-cache.ts';
import { corpusDer } from '../../helpers/corpus-der.ts';
import { selfMadeSigstore, type SelfMadeBundle } from '../../helpers/self-made-sigstore.ts';

const instance = selfMadeSigstore();
const trust = buildTrustMaterial({
  trustedRoot: { bytes: Buffer.from(JSON.stringify(instance.trustedRoot)), origin: 'self-made' },
  publicGoodRootDigest: '',
});
const sha256 = createHash('sha256').update('fast path artifact').digest('hex');
const ctx = { artifact: { digests: { sha256 } }, trust };

function verify(json: unknown, origin = 'bundle'): { codes: string[]; verified: number } {
  const { verified, rejected } = verifyAttestations(
    loadAttestations(Buffer.from(JSON.stringify(json)), origin),
    ctx,
  );
  return { codes: rejected.map((r) => r.code), verified: verified.length };
}

/** Runs `fn` with the caches on or off, and restores the switch. */
function withCaches<T>(on: boolean, fn: () => T): T {
  const before = verifyCachesEnabled();
  setVerifyCaches(on);
  try {
    return fn();
  } finally {
    setVerifyCaches(before);
  }
}

/** The curves of the signatures @sigstore/core verifies while `fn` runs. */
function curvesVerified(fn: () => void): string[] {
  const curves: string[] = [];
  const original = coreCrypto.verify;
  (coreCrypto as { verify: typeof original }).verify = (data, key, signature, algorithm) => {
    curves.push((key as KeyObject).asymmetricKeyDetails?.namedCurve ?? 'unknown');
    return original(data, key, signature, algorithm);
  };
  try {
    fn();
  } finally {
    (coreCrypto as { verify: typeof original }).verify = original;
  }
  return curves;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const copy = (b: SelfMadeBundle): Json => structuredClone(b.json) as Json;

test('self-made bundles verify, with the caches on and off', () => {
  for (const on of [true, false]) {
    withCaches(on, () => assert.deepEqual(verify(instance.issue(sha256).json), { codes: [], verified: 1 }));
  }
});

test('a cold keyless bundle costs one P-384 signature (leaf by intermediate); with the caches off, the whole path', () => {
  verify(instance.issue(sha256).json); // the first use of the trust material checks the CA path once
  const cold = curvesVerified(() => assert.equal(verify(instance.issue(sha256).json).verified, 1));
  assert.equal(cold.filter((c) => c === 'secp384r1').length, 1, `P-384 checks: ${cold.join(' ')}`);
  const off = withCaches(false, () =>
    curvesVerified(() => assert.equal(verify(instance.issue(sha256).json).verified, 1)),
  );
  assert.ok(off.filter((c) => c === 'secp384r1').length >= 3, `caches off: ${off.join(' ')}`);
});

test('certificates are compared without re-encoding them; the trusted CAs are not re-encoded per bundle', () => {
  verify(instance.issue(sha256).json);
  const bundle = instance.issue(sha256).json;
  let certificatesEncoded = 0;
  const toDER = ASN1Obj.prototype.toDER;
  ASN1Obj.prototype.toDER = function counted(this: ASN1Obj) {
    // A certificate is the only SEQUENCE of three whose first element holds a [3] extensions field.
    if (this.subs.length === 3 && this.subs[0]?.subs.some((s) => s.tag.isContextSpecific(3)))
      certificatesEncoded++;
    return toDER.call(this);
  };
  try {
    assert.equal(verify(bundle).verified, 1);
  } finally {
    ASN1Obj.prototype.toDER = toDER;
  }
  assert.equal(certificatesEncoded, 0);
});

test("the precertificate cut from a leaf is the library's re-encoding without the SCT list, for every corpus leaf", () => {
  const leaves: Array<Buffer<ArrayBuffer>> = [
    ...corpusDer(),
    ...[1, 2].map(() =>
      Buffer.from(copy(instance.issue(sha256)).verificationMaterial.certificate.rawBytes, 'base64'),
    ),
  ].filter((der) => {
    try {
      return X509Certificate.parse(der).extSCT !== undefined;
    } catch {
      return false;
    }
  });
  assert.ok(leaves.length >= 3, `${leaves.length} leaves with embedded SCTs`);
  for (const der of leaves) {
    const clone = library.parse(der);
    const extensions = clone.tbsCertificate.subs.find((s) => s.tag.isContextSpecific(3))!.subs[0]!.subs;
    extensions.splice(
      extensions.findIndex((ext) => ext.subs[0]!.toOID() === EXTENSION_OID_SCT),
      1,
    );
    assert.deepEqual(precertificateTbs(der), clone.tbsCertificate.toDER());
  }
});

/** The leaf's DER with the last byte of its TBS flipped: the last byte of its SCT's signature (the SCT list is its last extension). */
function withFlippedSct(leafDer: Buffer<ArrayBuffer>): Buffer<ArrayBuffer> {
  const tbsEnd = 4 + X509Certificate.parse(leafDer).tbsCertificate.toDER().length; // 30 82 LL LL, then the TBS
  const flipped = Buffer.from(leafDer);
  flipped[tbsEnd - 1]! ^= 0x01;
  return flipped;
}

test('SCTs: the fast path and the library agree on a valid leaf and on one whose SCT signature is flipped', () => {
  const intermediate = X509Certificate.parse(
    Buffer.from(
      (instance.trustedRoot as Json).certificateAuthorities[0].certChain.certificates[0].rawBytes,
      'base64',
    ),
  );
  const leafDer = Buffer.from(
    copy(instance.issue(sha256)).verificationMaterial.certificate.rawBytes,
    'base64',
  );
  const { ctlogs } = trust.sigstore;
  for (const on of [true, false]) {
    withCaches(on, () => {
      const ours = sctModule.verifySCTs(X509Certificate.parse(leafDer), intermediate, ctlogs);
      assert.deepEqual(ours, library.verifySCTs(X509Certificate.parse(leafDer), intermediate, ctlogs));
      assert.equal(ours.length, 1);
      const bad = withFlippedSct(leafDer);
      assert.throws(
        () => library.verifySCTs(X509Certificate.parse(bad), intermediate, ctlogs),
        /SCT verification failed/,
      );
      assert.throws(
        () => sctModule.verifySCTs(X509Certificate.parse(bad), intermediate, ctlogs),
        /SCT verification failed/,
      );
    });
  }
});

test('warm caches let nothing through that the library refuses: a re-used leaf, a forged checkpoint, a flipped SCT', () => {
  const known = instance.issue(sha256);
  assert.equal(verify(known.json).verified, 1); // its leaf, SCT and checkpoint are now cached
  const knownLeaf = copy(known).verificationMaterial.certificate;

  // The attacker re-uses the verified leaf (and so its cached chain and SCT) on an envelope signed by another key.
  const reusedLeaf = copy(instance.issue(sha256));
  reusedLeaf.verificationMaterial.certificate = knownLeaf;
  // The attacker keeps the verified checkpoint's note and flips a byte of its signature.
  const forgedCheckpoint = copy(known);
  const proof = forgedCheckpoint.verificationMaterial.tlogEntries[0].inclusionProof;
  const sig = proof.checkpoint.envelope.lastIndexOf(' ') + 8;
  const chars = [...proof.checkpoint.envelope];
  chars[sig] = chars[sig] === 'A' ? 'B' : 'A';
  proof.checkpoint.envelope = chars.join('');
  // The attacker flips the SCT signature of a verified leaf.
  const flippedSct = copy(known);
  flippedSct.verificationMaterial.certificate = {
    rawBytes: withFlippedSct(Buffer.from(knownLeaf.rawBytes, 'base64')).toString('base64'),
  };

  for (const [name, json] of Object.entries({ reusedLeaf, forgedCheckpoint, flippedSct })) {
    const warm = verify(json, name);
    const cold = withCaches(false, () => verify(json, name));
    assert.equal(warm.verified, 0, `${name} passed with warm caches`);
    assert.deepEqual(warm, cold, `${name}: the same rejection with the caches on and off`);
  }
});

test('OIDs are read once per node, as the library reads them, for every OID of the corpus', () => {
  let oidsSeen = 0;
  const visit = (node: ASN1Obj): void => {
    if (node.tag.isOID()) {
      assert.equal(node.toOID(), library.toOID.call(node));
      assert.equal(node.toOID(), library.toOID.call(node), 'the second read, from the memo');
      oidsSeen++;
    }
    node.subs.forEach(visit);
  };
  for (const der of corpusDer()) visit(ASN1Obj.parseBuffer(der));
  assert.ok(oidsSeen > 100, `${oidsSeen} OIDs`);
});

test("the signing certificate's key is the one node:crypto parsed with it, equal to the library's", () => {
  const bundle = copy(instance.issue(sha256));
  assert.equal(verify(bundle).verified, 1);
  const leaf = X509Certificate.parse(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
  const key = coreCrypto.createPublicKey(leaf.publicKey);
  assert.ok(key.equals(library.createPublicKey(leaf.publicKey)));
  assert.equal(coreCrypto.createPublicKey(leaf.publicKey), key, 'the kept object, not a new decoding');
  // With the caches off the library decodes the key itself: another object, the same key.
  const decoded = withCaches(false, () => coreCrypto.createPublicKey(leaf.publicKey));
  assert.notEqual(decoded, key);
  assert.ok(decoded.equals(key));
});

test('the leaf parse without error stacks reads what the library reads, and fails where it fails, for every corpus certificate', () => {
  const limit = Error.stackTraceLimit;
  let parsed = 0;
  for (const der of corpusDer()) {
    const ours = X509Certificate.parse(der);
    assert.ok(ours.root.toDER().equals(library.parse(der).root.toDER()));
    assert.equal(Error.stackTraceLimit, limit);
    parsed++;
    // Truncated and mis-tagged copies (made here by cutting the DER and by replacing its outer
    // SEQUENCE tag): the same outcome, and the same error type and message when it throws.
    const copies: Array<Buffer<ArrayBuffer>> = [
      der.subarray(0, der.length >> 1),
      Buffer.concat([Buffer.of(0x04), der.subarray(1)]),
    ];
    for (const broken of copies) {
      const outcome = (parse: typeof library.parse): string => {
        try {
          return `parsed ${parse(broken).root.toDER().toString('base64')}`;
        } catch (err) {
          return `${(err as Error).name}: ${(err as Error).message}`;
        }
      };
      assert.equal(outcome(X509Certificate.parse), outcome(library.parse));
      assert.equal(Error.stackTraceLimit, limit, 'the stack limit is restored after a failed parse');
    }
  }
  assert.ok(parsed > 10, `${parsed} certificates`);
});

/**
 * The DER encoder that replaces @sigstore/core's ASN1Obj.toDER writes the library's bytes,
 * node by node, for every certificate and key of the corpus (real upstream trusted roots and
 * bundles), and for a certificate whose tree sigstore-js edits before re-encoding it (the SCT
 * check removes the SCT extension from a clone of the leaf, RFC 6962 §3.2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ASN1Obj, EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import { encodeDER, libraryToDER } from '../../../src/core/verify/asn1-der-encoding.ts';
import '../../../src/core/verify/sigstore-bundle.ts';
import { corpusDer } from '../../helpers/corpus-der.ts';

/** Every node of the tree, children before their parent. */
function nodes(obj: ASN1Obj): ASN1Obj[] {
  return [...obj.subs.flatMap(nodes), obj];
}

function assertSameEncoding(root: ASN1Obj): void {
  for (const node of nodes(root)) {
    assert.deepEqual(encodeDER.call(node), libraryToDER.call(node));
  }
}

test('sigstore-bundle verification runs with the replacement encoder in place', () => {
  assert.equal(ASN1Obj.prototype.toDER, encodeDER);
});

test('every certificate and key of the corpus encodes to the bytes it was parsed from, as the library encodes it', () => {
  const ders = corpusDer();
  assert.ok(ders.length >= 20, `found ${ders.length} DER values in the corpus`);
  let certificates = 0;
  for (const der of ders) {
    const root = ASN1Obj.parseBuffer(der);
    assertSameEncoding(root);
    assert.deepEqual(root.toDER(), der);
    if (root.subs.length === 3 && root.subs[0]?.subs.some((s) => s.tag.isContextSpecific(3))) certificates++;
  }
  assert.ok(certificates >= 10, `${certificates} certificates among them`);
});

test('a certificate edited as the SCT check edits it encodes as the library encodes it', () => {
  const leaves = corpusDer()
    .map((der) => {
      try {
        return X509Certificate.parse(der);
      } catch {
        return undefined;
      }
    })
    .filter((cert) => cert?.extSCT !== undefined);
  assert.ok(leaves.length > 0, 'a Fulcio leaf certificate with embedded SCTs in the corpus');
  for (const leaf of leaves) {
    const clone = leaf!.clone();
    const extensions = clone.tbsCertificate.subs.find((s) => s.tag.isContextSpecific(3))!.subs[0]!.subs;
    const sct = extensions.findIndex((ext) => ext.subs[0]!.toOID() === EXTENSION_OID_SCT);
    extensions.splice(sct, 1);
    assertSameEncoding(clone.tbsCertificate);
    assert.ok(clone.tbsCertificate.toDER().length < leaf!.tbsCertificate.toDER().length);
  }
});

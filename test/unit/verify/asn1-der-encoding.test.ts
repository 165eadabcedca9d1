/**
 * The DER encoder that replaces @sigstore/core's ASN1Obj.toDER writes the library's bytes,
 * node by node, for every certificate and key of the corpus (real upstream trusted roots and
 * bundles), and for a certificate whose tree sigstore-js edits before re-encoding it (the SCT
 * check removes the SCT extension from a clone of the leaf, RFC 6962 §3.2).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ASN1Obj, EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import { encodeDER, libraryToDER } from '../../../src/core/verify/asn1-der-encoding.ts';
import '../../../src/core/verify/sigstore-bundle.ts';

const CORPUS = fileURLToPath(new URL('../../fixtures/corpus', import.meta.url));

/** Every `rawBytes` value in the corpus's JSON and JSON-lines files that parses as DER. */
function corpusDer(): Array<Buffer<ArrayBuffer>> {
  const found = new Map<string, Buffer<ArrayBuffer>>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'rawBytes' && typeof value === 'string') found.set(value, Buffer.from(value, 'base64'));
        else visit(value);
      }
    }
  };
  for (const file of readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(json|jsonl)$/.test(file)) continue;
    for (const line of readFileSync(join(CORPUS, file), 'utf8').split('\n')) {
      try {
        visit(JSON.parse(line));
      } catch {
        // A line that is not JSON on its own (a pretty-printed .json file): read the file whole.
        try {
          visit(JSON.parse(readFileSync(join(CORPUS, file), 'utf8')));
        } catch {
          // Not JSON: nothing to collect.
        }
        break;
      }
    }
  }
  return [...found.values()].filter((der) => {
    try {
      ASN1Obj.parseBuffer(der);
      return true;
    } catch {
      return false;
    }
  });
}

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

/**
 * DER encoding of @sigstore/core's parsed ASN.1 objects, one concatenation per node.
 *
 * sigstore-js compares and verifies certificates by re-encoding their parsed ASN.1 trees
 * (`X509Certificate.equals`, `tbsCertificate.toDER()`, chain building over every trusted CA).
 * Its `ASN1Obj.toDER` grows a `ByteStream` per node (a zero-filled 1 KiB block, copied on each
 * growth), which made re-encoding most of the CPU time of a `slsa-gate verify` run
 * (docs/benchmarks.md#cli). This encoder writes the same bytes (ITU-T X.690 §8.1: identifier
 * octet, definite length, contents) and replaces the library's method once, at import.
 * test/unit/verify/asn1-der-encoding.test.ts checks it against the library's own encoder on
 * every certificate of the corpus.
 */
import { ASN1Obj } from '@sigstore/core';

/** @sigstore/core's own encoder, kept for the test that compares the two. */
export const libraryToDER: (this: ASN1Obj) => Buffer = ASN1Obj.prototype.toDER;

/** X.690 §8.1.3: short form below 128, else 0x80 | count followed by the big-endian length octets. */
export function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Buffer.of(0x80 | octets.length, ...octets);
}

/** The DER bytes of `obj`: its tag, the length of its contents, and the contents (its sub-objects re-encoded, or its value). */
export function encodeDER(this: ASN1Obj): Buffer {
  const contents = this.subs.length > 0 ? Buffer.concat(this.subs.map((sub) => sub.toDER())) : this.value;
  return Buffer.concat([Buffer.of(this.tag.toDER()), derLength(contents.length), contents]);
}

ASN1Obj.prototype.toDER = encodeDER;
